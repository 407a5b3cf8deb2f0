/**
 * The background sweeper: time-driven transitions. Pending requests past their expiry expire;
 * dispatched requests no agent claimed in time go back to approved; approved ones not run in
 * time (under `run: by_requester`, not run by their requester before their `run_by`) expire;
 * running executions whose lease ran out become lost — never re-run by themselves (SECURITY.md:
 * crash mid-execution).
 * Join requests nobody decided expire too. Waiting approval steps are escalated and their
 * approvers reminded, and requesters hear of a request about to expire.
 */
import { DbwardError, type RequestId } from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import type { RequestEvent } from "../core/request-state.ts";
import { listLapsedLeases, markExecutionLost } from "../store/executions-repo.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { readySince } from "../core/run-schedule.ts";
import {
  listApprovedSince,
  listPendingRequests,
  listRequestIdsDue,
  listUnrunPastDeadline,
} from "../store/requests-repo.ts";
import { applyTransition } from "./apply-transition.ts";
import type { BotContext } from "./bot-context.ts";
import { escalateApprovals } from "./escalate-approvals.ts";
import { expireJoinRequests } from "./expire-join-requests.ts";
import { findRequestOrThrow } from "./find-request-or-throw.ts";
import { lapsePreflights } from "./lapse-preflights.ts";
import { purgeExpiredResults } from "./purge-results.ts";
import { remindApprovers } from "./remind-approvers.ts";
import { warnNearExpiry } from "./warn-near-expiry.ts";

export interface SweepReport {
  expired: number;
  undispatched: number;
  lost: number;
  /** Join requests nobody decided in time (expire-join-requests.ts). */
  joinRequestsExpired: number;
  /** Results deleted by retention (purge-results.ts). */
  resultsPurged?: number;
  /** Waiting steps widened to their `escalate_to` (escalate-approvals.ts). */
  escalated?: number;
  /** Requests whose approvers were reminded (remind-approvers.ts). */
  reminded?: number;
  /** Requesters told their request expires soon (warn-near-expiry.ts). */
  expiryWarned?: number;
  /** Claimed preflights whose agent never reported (lapse-preflights.ts). */
  preflightsLapsed?: number;
}

export async function sweep(ctx: BotContext): Promise<SweepReport> {
  const now = ctx.clock.now();
  const iso = now.toISOString();
  const dispatchCutoff = new Date(now.getTime() - ctx.config().execution.dispatch_timeout_ms).toISOString();
  const report: SweepReport = { expired: 0, undispatched: 0, lost: 0, joinRequestsExpired: 0 };

  report.expired += await moveAll(
    ctx,
    await listRequestIdsDue(ctx.store, ["pending_approval"], "expires_at", iso),
    "expire",
    "request.expired",
    "no decision before the request expired",
  );
  const ttl = ctx.config().execution.approved_ttl_ms;
  const approvedCutoff = new Date(now.getTime() - ttl).toISOString();
  // The time to run counts from when the request became ready (its approval, its requester's
  // Run now, or the end of its window): a superset by approval time, judged one by one.
  const unclaimed = (await listApprovedSince(ctx.store, approvedCutoff)).filter((r) => {
    const since = readySince(r);
    return since !== undefined && since <= now.getTime() - ttl;
  });
  report.expired += await moveAll(
    ctx,
    unclaimed.map((r) => r.id),
    "expire",
    "request.expired",
    "approved but not run in time; ask again",
  );
  report.expired += await moveAll(
    ctx,
    await listUnrunPastDeadline(ctx.store, iso),
    "expire",
    "request.expired",
    "approved, but its requester did not run it in time; ask again",
  );
  report.undispatched += await moveAll(
    ctx,
    await listRequestIdsDue(ctx.store, ["dispatched"], "dispatched_at", dispatchCutoff),
    "dispatch_timeout",
    "request.dispatch_timed_out",
    null,
  );

  // While the bot was down nobody heard the agents' heartbeats: a lease that ran out then is not
  // the agent's silence. Each running execution gets one lease margin after this start to
  // heartbeat or report before it is declared lost.
  const hearing = now.getTime() - ctx.startedAt.getTime() >= ctx.config().execution.lease_margin_ms;
  const leases = hearing ? await listLapsedLeases(ctx.store, now) : [];
  for (const exe of leases) report.lost += await loseExecution(ctx, exe.id, exe.requestId);
  if (hearing) report.preflightsLapsed = await lapsePreflights(ctx);

  // After the expiries above, so nothing is reminded of or escalated that has just expired;
  // escalation before reminders, so a reminder reaches the widened approvers too.
  // One read of the pending requests for all three (the sweep runs every second); each re-reads
  // its request inside its own transaction before it changes anything.
  const pending = await listPendingRequests(ctx.store);
  report.escalated = await escalateApprovals(ctx, pending);
  report.reminded = await remindApprovers(ctx, pending);
  report.expiryWarned = await warnNearExpiry(ctx, pending);

  report.joinRequestsExpired = (await expireJoinRequests(ctx)).length;
  report.resultsPurged = await purgeExpiredResults(ctx);

  if (report.undispatched > 0) ctx.jobs.notify();
  return report;
}

/** Moves each request in turn; returns how many moved (one that moved elsewhere first is skipped). */
async function moveAll(
  ctx: BotContext,
  ids: readonly RequestId[],
  event: RequestEvent,
  action: string,
  reason: string | null,
): Promise<number> {
  let moved = 0;
  for (const id of ids) moved += await move(ctx, id, event, action, reason);
  return moved;
}

async function move(
  ctx: BotContext,
  id: RequestId,
  event: RequestEvent,
  action: string,
  reason: string | null,
): Promise<number> {
  try {
    await inTransaction(ctx.store, async (tx) => {
      const r = await findRequestOrThrow(tx, id);
      await applyTransition(tx, r, {
        event,
        actor: "system",
        action,
        now: ctx.clock.now(),
        statusReason: reason,
        outcome: "failure",
      });
      await ctx.recordChange(tx, { requestId: id, action, actor: "system" });
    });
  } catch (err) {
    // Someone else moved it first (an approval, a claim): nothing to sweep.
    if (err instanceof DbwardError && err.code === "request.invalid_transition") return 0;
    throw err;
  }
  ctx.afterCommit({ requestId: id, action, actor: "system" });
  return 1;
}

async function loseExecution(ctx: BotContext, jobId: string, requestId: RequestId): Promise<number> {
  const now = ctx.clock.now();
  const changed = await inTransaction(ctx.store, async (tx) => {
    if (!(await markExecutionLost(tx, jobId, now))) return false;
    const request = await findRequestOrThrow(tx, requestId);
    const details = { execution: jobId, note: "lease expired without a result; not re-run automatically" };
    if (request.status === "running") {
      await applyTransition(tx, request, {
        event: "lose",
        actor: "system",
        action: "request.lost",
        now,
        statusReason: "the agent stopped reporting; the query may or may not have run",
        outcome: "failure",
        details,
      });
    } else {
      await appendAudit(
        tx,
        {
          actor: "system",
          action: "execution.lost",
          target: `request:${requestId}`,
          outcome: "failure",
          details,
        },
        now,
      );
    }
    await ctx.recordChange(tx, { requestId, action: "request.lost", actor: "system" });
    return true;
  });
  // Rows a lost execution sent before it went quiet are not a result: they are never served.
  if (changed) await ctx.results.remove(jobId);
  if (changed) ctx.afterCommit({ requestId, action: "request.lost", actor: "system" });
  return changed ? 1 : 0;
}
