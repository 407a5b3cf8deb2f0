/**
 * "Run now": the requester of an approved request under `run: by_requester` asks for it to run.
 * Only its requester may, once, before its `run_by`, and only while they may still make
 * requests; the request is then dispatched (or, under an approver's "not before", waits for its
 * window) in the same transaction as the audited ask. The execution token is signed only when an
 * agent claims it, so an approved request nobody ran never had one.
 */
import { DbwardError, type RequestId } from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { setRunSchedule, type RequestRecord } from "../store/requests-repo.ts";
import type { BotContext, RequestChange } from "./bot-context.ts";
import { actorOf, can, type UserCaller } from "./caller.ts";
import { dispatchWhenReady } from "./dispatch-when-ready.ts";
import { findRequestOrThrow } from "./find-request-or-throw.ts";
import { findVisibleRequest } from "./read-requests.ts";
import { recordDenial } from "./record-denial.ts";

export async function runRequest(ctx: BotContext, caller: UserCaller, id: RequestId): Promise<RequestRecord> {
  const actor = actorOf(caller);
  const existing = await findVisibleRequest(ctx, caller, id);
  const refusal =
    caller.user.status !== "active"
      ? new DbwardError("auth.suspended", "your dbward account is suspended")
      : existing.requester !== caller.user.id
        ? new DbwardError("auth.forbidden", `only its requester can run request #${id}`)
        : !can(caller, "request.create")
          ? new DbwardError(
              "auth.forbidden",
              "your roles no longer allow making requests, so you cannot run one",
            )
          : undefined;
  if (refusal !== undefined) {
    return recordDenial(ctx, {
      actor,
      action: "request.run_refused",
      target: `request:${id}`,
      error: refusal,
    });
  }
  const change: RequestChange = { requestId: id, action: "request.run_requested", actor };
  const ran = await inTransaction(ctx.store, async (tx) => {
    const now = ctx.clock.now();
    const request = await findRequestOrThrow(tx, id);
    assertRunnable(request, now);
    const runRequestedAt = now.toISOString();
    await setRunSchedule(tx, id, { runRequestedAt });
    await appendAudit(
      tx,
      { actor, action: "request.run_requested", target: `request:${id}`, outcome: "success", details: {} },
      now,
    );
    await ctx.recordChange(tx, change);
    return dispatchWhenReady(tx, { ...request, runRequestedAt }, now, { run_requested: true });
  });
  ctx.afterCommit(change);
  if (ran.status === "dispatched") ctx.jobs.notify();
  return ran;
}

/** Throws `request.invalid_transition`, saying why, unless the request waits for its requester. */
function assertRunnable(r: RequestRecord, now: Date): void {
  const refuse = (why: string): never => {
    throw new DbwardError("request.invalid_transition", `request #${r.id} ${why}`);
  };
  if (r.workflow.run !== "by_requester")
    refuse(`runs as soon as it is approved (workflow ${r.workflow.name}); there is nothing to run by hand`);
  if (r.status === "pending_approval") refuse("is still waiting for approval; it can run once approved");
  if (r.runRequestedAt !== null) refuse(`has already been asked to run (${r.status}); it runs once`);
  if (r.status !== "approved") refuse(`is ${r.status} and can no longer run; ask again`);
  if (r.runBy !== null && Date.parse(r.runBy) <= now.getTime())
    refuse(`had to be run by ${r.runBy}; ask again`);
}
