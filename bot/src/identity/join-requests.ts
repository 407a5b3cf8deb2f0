/** Join requests as the state store holds them: people not yet known asking to become users. */
import type { JoinRequestStatus, JoinRequestView } from "@dbward/shared";
import type { Kysely } from "kysely";
import type { Tx } from "../store/in-transaction.ts";
import type { Database } from "../store/tables.ts";

export type JoinRequestRow = Database["join_requests"];

export async function findJoinRequest(db: Kysely<Database>, id: string): Promise<JoinRequestRow | undefined> {
  return db.selectFrom("join_requests").selectAll().where("id", "=", id).executeTakeFirst();
}

export async function findPendingJoinRequestBySlackId(
  db: Kysely<Database>,
  slackUserId: string,
): Promise<JoinRequestRow | undefined> {
  return db
    .selectFrom("join_requests")
    .selectAll()
    .where("slack_user_id", "=", slackUserId)
    .where("status", "=", "pending")
    .executeTakeFirst();
}

/** Newest first. */
export async function listJoinRequests(
  db: Kysely<Database>,
  statuses: readonly JoinRequestStatus[],
): Promise<JoinRequestRow[]> {
  let q = db.selectFrom("join_requests").selectAll().orderBy("created_at", "desc").orderBy("id").limit(500);
  if (statuses.length > 0) q = q.where("status", "in", [...statuses]);
  return q.execute();
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
      decision_reason: set.reason,
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
