/**
 * Join requests in the state store, for the use cases that create and expire them. Reading and
 * deciding one (`findJoinRequest`, `closeJoinRequest`) lives in identity/join-requests.ts.
 */
import type { Kysely } from "kysely";
import { placeOf, sealValue } from "../crypto/state-cipher.ts";
import type { Tx } from "./in-transaction.ts";
import type { Database } from "./tables.ts";

type Db = Kysely<Database> | Tx;

export interface NewJoinRequest {
  readonly id: string;
  readonly slackUserId: string;
  readonly displayName: string;
  readonly email: string | null;
  /** The JSON text of the sorted group list (identity/users.ts listColumn). */
  readonly groupsJson: string;
  readonly requestedRole: string;
  readonly reason: string;
  readonly createdAt: string;
  readonly expiresAt: string;
}

/** Records a new pending join request. */
export async function insertJoinRequest(tx: Tx, j: NewJoinRequest): Promise<void> {
  await tx
    .insertInto("join_requests")
    .values({
      id: j.id,
      slack_user_id: j.slackUserId,
      display_name: j.displayName,
      email: j.email,
      groups_json: j.groupsJson,
      requested_role: j.requestedRole,
      // Typed by the person asking: sealed in an encrypted store (crypto/state-cipher.ts).
      reason: await sealValue(tx, placeOf("join_requests", "reason", j.id), j.reason),
      status: "pending",
      created_at: j.createdAt,
      expires_at: j.expiresAt,
      decided_by: null,
      decided_at: null,
      decision_reason: null,
      user_id: null,
    })
    .execute();
}

/** The ids of pending join requests whose time ran out at or before `now`. */
export async function listDueJoinRequestIds(db: Db, now: string): Promise<string[]> {
  const rows = await db
    .selectFrom("join_requests")
    .select("id")
    .where("status", "=", "pending")
    .where("expires_at", "<=", now)
    .execute();
  return rows.map((r) => r.id);
}
