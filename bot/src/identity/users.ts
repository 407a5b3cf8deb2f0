/**
 * Users as the state store holds them. Config-declared users are synced at start: the config
 * wins for the fields it sets; a user's status (suspension) is not a config field and survives.
 */
import type { Kysely } from "kysely";
import type { Role, UserConfig } from "../config/bot-config.ts";
import { appendAudit } from "../audit/audit-log.ts";
import type { Clock } from "../core/clock.ts";
import { inTransaction } from "../store/in-transaction.ts";
import type { Store } from "../store/open-store.ts";
import type { Database } from "../store/tables.ts";

export interface User {
  readonly id: string;
  readonly name: string;
  readonly email: string | null;
  readonly slackUserId: string | null;
  readonly roles: readonly Role[];
  readonly groups: readonly string[];
  readonly status: "active" | "suspended";
}

export async function findUser(db: Kysely<Database>, id: string): Promise<User | undefined> {
  const row = await db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
  return row === undefined ? undefined : toUser(row);
}

export async function findUserBySlackId(
  db: Kysely<Database>,
  slackUserId: string,
): Promise<User | undefined> {
  const row = await db
    .selectFrom("users")
    .selectAll()
    .where("slack_user_id", "=", slackUserId)
    .executeTakeFirst();
  return row === undefined ? undefined : toUser(row);
}

export async function listUsers(db: Kysely<Database>): Promise<User[]> {
  const rows = await db.selectFrom("users").selectAll().orderBy("id").execute();
  return rows.map(toUser);
}

function toUser(r: Database["users"]): User {
  return {
    id: r.id,
    name: r.display_name,
    email: r.email,
    slackUserId: r.slack_user_id,
    roles: JSON.parse(r.roles) as Role[],
    groups: JSON.parse(r.groups_json) as string[],
    status: r.status,
  };
}

/** Upserts config-declared users, auditing each creation and change. */
export async function syncConfigUsers(
  store: Store,
  users: readonly UserConfig[],
  clock: Clock,
): Promise<void> {
  await inTransaction(store, async (tx) => {
    const now = clock.now();
    for (const u of users) {
      const fields = {
        display_name: u.name,
        email: u.email ?? null,
        slack_user_id: u.slack_user_id ?? null,
        roles: JSON.stringify([...u.roles].sort()),
        groups_json: JSON.stringify([...u.groups].sort()),
      };
      const existing = await tx.selectFrom("users").selectAll().where("id", "=", u.id).executeTakeFirst();
      if (existing === undefined) {
        await tx
          .insertInto("users")
          .values({
            id: u.id,
            ...fields,
            status: "active",
            source: "config",
            created_at: now.toISOString(),
            updated_at: now.toISOString(),
          })
          .execute();
        await appendAudit(
          tx,
          {
            actor: "system",
            action: "user.created",
            target: `user:${u.id}`,
            outcome: "success",
            details: { source: "config", ...fields },
          },
          now,
        );
        continue;
      }
      const changed = (Object.keys(fields) as (keyof typeof fields)[]).filter(
        (k) => existing[k] !== fields[k],
      );
      if (changed.length === 0) continue;
      // A Slack id moving between users must not collide mid-sync; clear it on the old holder first.
      if (fields.slack_user_id !== null) {
        await tx
          .updateTable("users")
          .set({ slack_user_id: null })
          .where("slack_user_id", "=", fields.slack_user_id)
          .where("id", "!=", u.id)
          .execute();
      }
      await tx
        .updateTable("users")
        .set({ ...fields, updated_at: now.toISOString() })
        .where("id", "=", u.id)
        .execute();
      await appendAudit(
        tx,
        {
          actor: "system",
          action: "user.updated",
          target: `user:${u.id}`,
          outcome: "success",
          details: { source: "config", changed },
        },
        now,
      );
    }
  });
}
