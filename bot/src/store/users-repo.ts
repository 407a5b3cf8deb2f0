/**
 * Users in the state store, for the use cases that change them (activate, suspend, update, OIDC
 * sign-in) and the checks those run inside their own transaction (lockout, unique links, free
 * ids). Reading a user as a `User` stays in identity/users.ts; status writes here are
 * compare-and-set on the old status, and nothing here decides whether a change is allowed.
 */
import type { Kysely, Selectable } from "kysely";
import { z } from "zod";
import type { Tx } from "./in-transaction.ts";
import type { Database, UsersTable } from "./tables.ts";

type Db = Kysely<Database> | Tx;

/** A user's stored row as it is, for comparing a profile column by column with wanted values. */
export type UserRow = Selectable<UsersTable>;

export type UserStatus = UsersTable["status"];

/** The profile columns an admin or the identity provider changes (not status, source or times). */
export type UserProfileColumns = Partial<
  Pick<UsersTable, "display_name" | "email" | "slack_user_id" | "roles" | "groups_json" | "oidc_subject">
>;

/** The columns that link a user to an outside identity; each value belongs to one user at most. */
export type UserLink = "slack_user_id" | "oidc_subject";

export interface ActiveUserRoles {
  readonly id: string;
  readonly roles: readonly string[];
}

const roleList = z.array(z.string());

export async function findUserRow(db: Db, id: string): Promise<UserRow | undefined> {
  return db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
}

/** Whether some user already has this id. */
export async function isUserIdTaken(db: Db, id: string): Promise<boolean> {
  const row = await db.selectFrom("users").select("id").where("id", "=", id).executeTakeFirst();
  return row !== undefined;
}

/** The id of the user other than `exceptId` that holds `value` in the `link` column, if any. */
export async function findOtherUserWithLink(
  db: Db,
  link: UserLink,
  value: string,
  exceptId: string,
): Promise<string | undefined> {
  const row = await db
    .selectFrom("users")
    .select("id")
    .where(link, "=", value)
    .where("id", "!=", exceptId)
    .executeTakeFirst();
  return row?.id;
}

/** Every active user with their stored roles (the lockout check counts who can still manage users). */
export async function listActiveUserRoles(db: Db): Promise<ActiveUserRoles[]> {
  const rows = await db
    .selectFrom("users")
    .select(["id", "roles"])
    .where("status", "=", "active")
    .orderBy("id")
    .execute();
  return rows.map((r) => ({ id: r.id, roles: parseRoles(r.id, r.roles) }));
}

/** Compare-and-set: moves the user from `from` to `to`; false when they were not in `from`. */
export async function casUserStatus(
  tx: Tx,
  id: string,
  from: UserStatus,
  to: UserStatus,
  now: Date,
): Promise<boolean> {
  const r = await tx
    .updateTable("users")
    .set({ status: to, updated_at: now.toISOString() })
    .where("id", "=", id)
    .where("status", "=", from)
    .executeTakeFirst();
  return r.numUpdatedRows === 1n;
}

/** Writes the given profile columns (already validated and compared by the caller). */
export async function updateUserProfile(
  tx: Tx,
  id: string,
  columns: UserProfileColumns,
  now: Date,
): Promise<void> {
  await tx
    .updateTable("users")
    .set({ ...columns, updated_at: now.toISOString() })
    .where("id", "=", id)
    .execute();
}

function parseRoles(id: string, text: string): readonly string[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const parsed = roleList.safeParse(value);
  if (!parsed.success) throw new Error(`user ${id} has malformed roles in the store`);
  return parsed.data;
}
