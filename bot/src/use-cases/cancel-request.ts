/**
 * Cancel a request. The requester may cancel their own; an operator anyone's. A running request
 * is marked cancelled at once and its execution flagged, so the agent learns of it on its next
 * heartbeat and stops the query.
 */
import { DbwardError, type RequestId } from "@dbward/shared";
import { flagRunningExecutionCancelled } from "../store/executions-repo.ts";
import { inTransaction } from "../store/in-transaction.ts";
import type { RequestRecord } from "../store/requests-repo.ts";
import { applyTransition } from "./apply-transition.ts";
import type { BotContext, RequestChange } from "./bot-context.ts";
import { actorOf, can, type UserCaller } from "./caller.ts";
import { findRequestOrThrow } from "./find-request-or-throw.ts";
import { findVisibleRequest } from "./read-requests.ts";
import { recordDenial } from "./record-denial.ts";

export async function cancelRequest(
  ctx: BotContext,
  caller: UserCaller,
  id: RequestId,
  reason: string,
): Promise<RequestRecord> {
  const actor = actorOf(caller);
  const existing = await findVisibleRequest(ctx, caller, id);
  const mayCancel =
    caller.user.status === "active" &&
    (existing.requester === caller.user.id || can(caller, "request.cancel_any"));
  if (!mayCancel) {
    return recordDenial(ctx, {
      actor,
      action: "request.cancel_refused",
      target: `request:${id}`,
      error: new DbwardError("auth.forbidden", "only the requester or an operator can cancel this request"),
    });
  }
  const now = ctx.clock.now();
  const change: RequestChange = { requestId: id, action: "request.cancelled", actor };
  const cancelled = await inTransaction(ctx.store, async (tx) => {
    const request = await findRequestOrThrow(tx, id);
    const text = reason.trim() || "cancelled";
    const next = await applyTransition(tx, request, {
      event: "cancel",
      actor,
      action: "request.cancelled",
      now,
      statusReason: text,
      details: { reason: text },
    });
    if (request.status === "running") await flagRunningExecutionCancelled(tx, id);
    await ctx.recordChange(tx, change);
    return next;
  });
  ctx.afterCommit(change);
  return cancelled;
}
