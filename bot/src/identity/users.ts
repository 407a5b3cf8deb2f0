/**
 * Users as the state store holds them. Config-declared users are synced at start and on reload:
 * the config wins for the fields it sets; a user's status (suspension) is not a config field and
 * survives. Writes go through the caller's transaction, next to their audit event.
 */
import type { UserView } from "@dbward/shared";
import type { Kysely } from "kysely";
import type { Role, UserConfig } from "../config/bot-config.ts";
import { appendAudit } from "../audit/audit-log.ts";
import type { Clock } from "../core/clock.ts";
import { inTransaction, type Tx } from "../store/in-transaction.ts";
import type { Store } from "../store/open-store.ts";
import type { Database } from "../store/tables.ts";

export type UserSource = Database["users"]["source"];

export interface User {
  readonly id: string;
  readonly name: string;
  readonly email: string | null;
  readonly slackUserId: string | null;
  readonly roles: readonly Role[];
  readonly groups: readonly string[];
  readonly status: "active" | "suspended";
  readonly source: UserSource;
  readonly oidcSubject: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** The columns a user's profile is made of (everything but status, source and times). */
export interface UserFields {
  display_name: string;
  email: string | null;
  slack_user_id: string | null;
  roles: string;
  groups_json: string;
  oidc_subject: string | null;
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

export async function findUserByOidcSubject(
  db: Kysely<Database>,
  subject: string,
): Promise<User | undefined> {
  const row = await db.selectFrom("users").selectAll().where("oidc_subject", "=", subject).executeTakeFirst();
  return row === undefined ? undefined : toUser(row);
}

export async function listUsers(db: Kysely<Database>): Promise<User[]> {
  const rows = await db.selectFrom("users").selectAll().orderBy("id").execute();
  return rows.map(toUser);
}

export function toUser(r: Database["users"]): User {
  return {
    id: r.id,
    name: r.display_name,
    email: r.email,
    slackUserId: r.slack_user_id,
    roles: JSON.parse(r.roles) as Role[],
    groups: JSON.parse(r.groups_json) as string[],
    status: r.status,
    source: r.source,
    oidcSubject: r.oidc_subject,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function toUserView(u: User): UserView {
  return {
    id: u.id,
    name: u.name,
    email: u.email,
    slack_user_id: u.slackUserId,
    roles: [...u.roles],
    groups: [...u.groups],
    status: u.status,
    source: u.source,
    oidc_subject: u.oidcSubject,
    created_at: u.createdAt,
    updated_at: u.updatedAt,
  };
}

/** Sorted JSON arrays, so an unchanged list compares equal to the stored text. */
export function listColumn(values: readonly string[]): string {
  return JSON.stringify([...new Set(values)].sort());
}

/** Inserts a new active user inside the caller's transaction. */
export async function insertUser(
  tx: Tx,
  args: { id: string; source: UserSource; fields: UserFields; now: Date },
): Promise<void> {
  await tx
    .insertInto("users")
    .values({
      id: args.id,
      ...args.fields,
      status: "active",
      source: args.source,
      created_at: args.now.toISOString(),
      updated_at: args.now.toISOString(),
    })
    .execute();
}

/** The names of the fields that differ between a stored row and wanted values. */
export function changedFields(
  existing: Database["users"],
  wanted: Partial<UserFields>,
): (keyof UserFields)[] {
  return (Object.keys(wanted) as (keyof UserFields)[]).filter((k) => existing[k] !== wanted[k]);
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
      const fields: Partial<UserFields> & Omit<UserFields, "oidc_subject"> = {
        display_name: u.name,
        email: u.email ?? null,
        slack_user_id: u.slack_user_id ?? null,
        roles: listColumn(u.roles),
        groups_json: listColumn(u.groups),
        // The config sets the link only when it names one; an admin may link the others.
        ...(u.oidc_subject !== undefined ? { oidc_subject: u.oidc_subject } : {}),
      };
      const existing = await tx.selectFrom("users").selectAll().where("id", "=", u.id).executeTakeFirst();
      await releaseUniqueValues(tx, u.id, fields);
      if (existing === undefined) {
        await insertUser(tx, { id: u.id, source: "config", fields: { oidc_subject: null, ...fields }, now });
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
      const changed = changedFields(existing, fields);
      if (changed.length === 0 && existing.source === "config") continue;
      await tx
        .updateTable("users")
        .set({ ...fields, source: "config", updated_at: now.toISOString() })
        .where("id", "=", u.id)
        .execute();
      await appendAudit(
        tx,
        {
          actor: "system",
          action: "user.updated",
          target: `user:${u.id}`,
          outcome: "success",
          details: { source: "config", changed, previous_source: existing.source },
        },
        now,
      );
    }
  });
}

/** A Slack id or OIDC subject moving between users must not collide mid-sync: clear it on the old holder. */
async function releaseUniqueValues(tx: Tx, id: string, fields: Partial<UserFields>): Promise<void> {
  if (fields.slack_user_id != null) {
    await tx
      .updateTable("users")
      .set({ slack_user_id: null })
      .where("slack_user_id", "=", fields.slack_user_id)
      .where("id", "!=", id)
      .execute();
  }
  if (fields.oidc_subject != null) {
    await tx
      .updateTable("users")
      .set({ oidc_subject: null })
      .where("oidc_subject", "=", fields.oidc_subject)
      .where("id", "!=", id)
      .execute();
  }
}
