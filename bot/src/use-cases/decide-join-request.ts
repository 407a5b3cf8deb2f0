/**
 * An admin approves or rejects a join request (`user.manage`). Approval creates the user in the
 * same transaction that closes the request, with the requested role and groups and the Slack id
 * linked; a double click decides once. The adapter tells the person by DM after commit.
 */
import { DbwardError, type JoinRequestView } from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import {
  closeJoinRequest,
  findJoinRequest,
  toJoinRequestView,
  type JoinRequestRow,
} from "../identity/join-requests.ts";
import { parseUserIdField } from "../identity/user-input.ts";
import { listColumn } from "../identity/users.ts";
import { inTransaction, type Tx } from "../store/in-transaction.ts";
import type { BotContext } from "./bot-context.ts";
import { actorOf, can, type UserCaller } from "./caller.ts";
import { createAdminUser } from "./create-admin-user.ts";
import { recordDenial } from "./record-denial.ts";

export type JoinDecision =
  /** `userId` defaults to one made from the email or the name. */
  | { readonly kind: "approve"; readonly userId?: string; readonly reason?: string }
  | { readonly kind: "reject"; readonly reason: string };

export async function decideJoinRequest(
  ctx: BotContext,
  caller: UserCaller,
  id: string,
  decision: JoinDecision,
): Promise<JoinRequestView> {
  const actor = actorOf(caller);
  if (!can(caller, "user.manage")) {
    return recordDenial(ctx, {
      actor,
      action: "join.decide_refused",
      target: `join:${id}`,
      error: new DbwardError("auth.forbidden", "only an admin can decide join requests"),
    });
  }
  const reason = (decision.reason ?? "").trim();
  if (decision.kind === "reject" && (reason === "" || reason.length > 500))
    throw new DbwardError("request.invalid", "a rejection needs a reason (1-500 characters)");
  const wantedId =
    decision.kind === "approve" && decision.userId ? parseUserIdField(decision.userId, "user_id") : undefined;
  const now = ctx.clock.now();
  await inTransaction(ctx.store, async (tx) => {
    const row = await findJoinRequest(tx, id);
    if (row === undefined) throw new DbwardError("join.not_found", `there is no join request ${id}`);
    if (row.status !== "pending" || Date.parse(row.expires_at) <= now.getTime())
      throw new DbwardError(
        "join.not_pending",
        `join request ${id} is ${row.status === "pending" ? "expired" : row.status}`,
      );
    const userId = decision.kind === "approve" ? await createUserFor(tx, row, wantedId, actor, now) : null;
    const won = await closeJoinRequest(tx, id, {
      status: decision.kind === "approve" ? "approved" : "rejected",
      decidedBy: actor,
      decidedAt: now.toISOString(),
      reason: reason === "" ? null : reason,
      userId,
    });
    if (!won) throw new DbwardError("join.not_pending", `join request ${id} was decided meanwhile`);
    await appendAudit(
      tx,
      {
        actor,
        action: decision.kind === "approve" ? "join.approved" : "join.rejected",
        target: `join:${id}`,
        outcome: "success",
        details: { reason: reason === "" ? null : reason, user_id: userId, via: caller.via },
      },
      now,
    );
  });
  const row = await findJoinRequest(ctx.store, id);
  if (row === undefined) throw new DbwardError("join.not_found", `there is no join request ${id}`);
  return toJoinRequestView(row);
}

function createUserFor(
  tx: Tx,
  row: JoinRequestRow,
  wantedId: string | undefined,
  actor: string,
  now: Date,
): Promise<string> {
  const fields = {
    display_name: row.display_name,
    email: row.email,
    slack_user_id: row.slack_user_id,
    roles: listColumn([row.requested_role]),
    groups_json: row.groups_json,
    oidc_subject: null,
  };
  return createAdminUser(tx, {
    wantedId,
    fields,
    actor,
    now,
    idField: " (user_id)",
    details: { join_request: row.id },
  });
}
