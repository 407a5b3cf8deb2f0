/**
 * A new `source: admin` user, inside the caller's transaction: the id (given, or made from the
 * email or the name), the uniqueness checks, the row and its `user.created` event. Shared by an
 * admin adding a user and an admin approving a join request, so both refuse and audit alike.
 */
import { DbwardError } from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import { findUser, insertUser, type UserFields } from "../identity/users.ts";
import type { Tx } from "../store/in-transaction.ts";
import { assertUniqueLinks, freeUserId } from "./user-uniqueness.ts";

export interface NewAdminUser {
  readonly wantedId: string | undefined;
  readonly fields: UserFields;
  readonly actor: string;
  readonly now: Date;
  /** How the input names the id field, for the refusal when none can be made. */
  readonly idField: string;
  /** What else the `user.created` event says about where the user came from. */
  readonly details: Record<string, unknown>;
}

export async function createAdminUser(tx: Tx, u: NewAdminUser): Promise<string> {
  const { fields } = u;
  const id = u.wantedId ?? (await freeUserId(tx, [fields.email?.split("@")[0] ?? "", fields.display_name]));
  if (id === undefined) throw new DbwardError("request.invalid", `give the new user an id${u.idField}`);
  if ((await findUser(tx, id)) !== undefined)
    throw new DbwardError("user.exists", `there already is a user ${id}`);
  await assertUniqueLinks(tx, id, fields);
  await insertUser(tx, { id, source: "admin", fields, now: u.now });
  await appendAudit(
    tx,
    {
      actor: u.actor,
      action: "user.created",
      target: `user:${id}`,
      outcome: "success",
      details: { source: "admin", ...u.details, ...fields },
    },
    u.now,
  );
  return id;
}
