/**
 * An operator runs a lost request again. Lost means the agent stopped reporting mid-execution:
 * the statement may or may not have run, so the bot never re-runs it by itself (SECURITY.md:
 * crash mid-execution). A retry is an explicit, audited decision with a written reason; it moves
 * the request back to approved and dispatches it in the same transaction. The next claim creates
 * a new execution with a new token; the old token stays spent in the agent's ledger.
 */
import { DbwardError, lateOutcomeOf, type RequestId } from "@dbward/shared";
import { inTransaction } from "../store/in-transaction.ts";
import type { Tx } from "../store/in-transaction.ts";
import { listExecutions, type RequestRecord } from "../store/requests-repo.ts";
import { applyTransition } from "./apply-transition.ts";
import type { BotContext, RequestChange } from "./bot-context.ts";
import { actorOf, can, type UserCaller } from "./caller.ts";
import { findRequestOrThrow } from "./find-request-or-throw.ts";
import { findVisibleRequest } from "./read-requests.ts";
import { recordDenial } from "./record-denial.ts";

export async function retryRequest(
  ctx: BotContext,
  caller: UserCaller,
  id: RequestId,
  reason: string,
): Promise<RequestRecord> {
  const actor = actorOf(caller);
  await findVisibleRequest(ctx, caller, id);
  if (!can(caller, "request.retry")) {
    return recordDenial(ctx, {
      actor,
      action: "request.retry_refused",
      target: `request:${id}`,
      error: new DbwardError("auth.forbidden", "only an operator can run a lost request again"),
    });
  }
  const text = reason.trim();
  if (text === "") throw new DbwardError("request.invalid", "say why the request may run again (reason)");
  const now = ctx.clock.now();
  const change: RequestChange = { requestId: id, action: "request.retried", actor };
  const dispatched = await inTransaction(ctx.store, async (tx) => {
    const request = await findRequestOrThrow(tx, id);
    await assertNotKnownToHaveRun(tx, id);
    const approved = await applyTransition(tx, request, {
      event: "retry",
      actor,
      action: "request.retried",
      now,
      statusReason: null,
      details: { reason: text, note: "the lost execution may or may not have run" },
    });
    const next = await applyTransition(tx, approved, {
      event: "dispatch",
      actor: "system",
      action: "request.dispatched",
      now,
      details: { retry: true },
    });
    await ctx.recordChange(tx, change);
    return next;
  });
  ctx.jobs.notify();
  ctx.afterCommit(change);
  return dispatched;
}

/**
 * A lost request whose agent reported afterwards that the statement committed ("executed, result
 * not delivered") has run: running it again would apply it twice. Only "outcome unknown" (and a
 * plain lost) leaves the decision to the operator.
 */
async function assertNotKnownToHaveRun(tx: Tx, id: RequestId): Promise<void> {
  const last = (await listExecutions(tx, id)).at(-1);
  if (lateOutcomeOf(last?.error_code) !== "succeeded_unreported") return;
  const rows = last?.affected_rows ?? last?.row_count;
  throw new DbwardError(
    "request.invalid_transition",
    `request #${id} has run: its agent reported the commit${rows == null ? "" : ` (${rows} rows)`} after the bot had marked it lost; running it again would apply it twice. Ask for a new request if that is what you want`,
  );
}
