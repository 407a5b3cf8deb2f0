/** Join requests as the state store holds them: people not yet known asking to become users. */
import type { JoinRequestStatus, JoinRequestView } from "@dbward/shared";
import type { Kysely } from "kysely";
import { openNullable, openValue, placeOf, sealNullable } from "../crypto/state-cipher.ts";
import type { Tx } from "../store/in-transaction.ts";
import type { Database } from "../store/tables.ts";

export type JoinRequestRow = Database["join_requests"];

export async function findJoinRequest(db: Kysely<Database>, id: string): Promise<JoinRequestRow | undefined> {
  const row = await db.selectFrom("join_requests").selectAll().where("id", "=", id).executeTakeFirst();
  return row === undefined ? undefined : openJoinRow(db, row);
}

export async function findPendingJoinRequestBySlackId(
  db: Kysely<Database>,
  slackUserId: string,
): Promise<JoinRequestRow | undefined> {
  const row = await db
    .selectFrom("join_requests")
    .selectAll()
    .where("slack_user_id", "=", slackUserId)
    .where("status", "=", "pending")
    .executeTakeFirst();
  return row === undefined ? undefined : openJoinRow(db, row);
}

/** Newest first. */
export async function listJoinRequests(
  db: Kysely<Database>,
  statuses: readonly JoinRequestStatus[],
): Promise<JoinRequestRow[]> {
  let q = db.selectFrom("join_requests").selectAll().orderBy("created_at", "desc").orderBy("id").limit(500);
  if (statuses.length > 0) q = q.where("status", "in", [...statuses]);
  return (await q.execute()).map((r) => openJoinRow(db, r));
}

/** The row with its reasons in the clear (sealed in an encrypted store: crypto/state-cipher.ts). */
function openJoinRow(db: Kysely<Database>, r: JoinRequestRow): JoinRequestRow {
  return {
    ...r,
    reason: openValue(db, placeOf("join_requests", "reason", r.id), r.reason),
    decision_reason: openNullable(db, placeOf("join_requests", "decision_reason", r.id), r.decision_reason),
  };
}

/** Compare-and-set out of `pending`: true when this call decided it. */
export async function closeJoinRequest(
  tx: Tx,
  id: string,
  set: {
    status: Exclude<JoinRequestStatus, "pending">;
    decidedBy: string | null;
    decidedAt: string;
    reason: string | null;
    userId: string | null;
  },
): Promise<boolean> {
  const res = await tx
    .updateTable("join_requests")
    .set({
      status: set.status,
      decided_by: set.decidedBy,
      decided_at: set.decidedAt,
      decision_reason: await sealNullable(tx, placeOf("join_requests", "decision_reason", id), set.reason),
      user_id: set.userId,
    })
    .where("id", "=", id)
    .where("status", "=", "pending")
    .executeTakeFirst();
  return res.numUpdatedRows === 1n;
}

export function toJoinRequestView(r: JoinRequestRow): JoinRequestView {
  return {
    id: r.id,
    slack_user_id: r.slack_user_id,
    name: r.display_name,
    email: r.email,
    requested_role: r.requested_role,
    groups: JSON.parse(r.groups_json) as string[],
    reason: r.reason,
    status: r.status,
    created_at: r.created_at,
    expires_at: r.expires_at,
    decided_by: r.decided_by,
    decided_at: r.decided_at,
    decision_reason: r.decision_reason,
    user_id: r.user_id,
  };
}
