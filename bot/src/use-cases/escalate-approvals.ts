/**
 * Escalation, run by the sweeper: once a waiting step that sets `escalate_after` has waited that
 * long, its selectors are widened by `escalate_to`. The widening is stored in the request's
 * workflow snapshot (the one thing about it that changes after creation, and only ever by
 * adding who may decide), so canDecide and every surface see it; it is audited
 * (`request.escalated`) and queued for Slack in the same transaction, by compare-and-set on the
 * snapshot: a step escalates once, however many sweeps race.
 */
import type { RequestId } from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import { isEscalationDue, withEscalatedStep } from "../core/step-timers.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { casWorkflow } from "../store/request-nudges-repo.ts";
import { findRequest, type RequestRecord } from "../store/requests-repo.ts";
import type { BotContext, RequestChange } from "./bot-context.ts";
import { waitingStep } from "./waiting-step.ts";

export const ESCALATED = "request.escalated";

/** Escalates the steps now due; returns how many requests escalated. */
export async function escalateApprovals(ctx: BotContext, pending: readonly RequestRecord[]): Promise<number> {
  let escalated = 0;
  for (const r of pending) {
    if (await isDue(ctx.store, r, ctx.clock.now())) escalated += await escalate(ctx, r.id);
  }
  return escalated;
}

async function isDue(
  db: Parameters<typeof findRequest>[0],
  r: RequestRecord | undefined,
  now: Date,
): Promise<boolean> {
  const waiting = r === undefined ? undefined : await waitingStep(db, r);
  return waiting !== undefined && isEscalationDue(waiting.step, waiting.since, now);
}

async function escalate(ctx: BotContext, id: RequestId): Promise<number> {
  const change: RequestChange = { requestId: id, action: ESCALATED, actor: "system" };
  const done = await inTransaction(ctx.store, async (tx) => {
    const now = ctx.clock.now();
    const r = await findRequest(tx, id);
    const waiting = r === undefined ? undefined : await waitingStep(tx, r);
    if (r === undefined || waiting === undefined || !isEscalationDue(waiting.step, waiting.since, now))
      return false;
    if (!(await casWorkflow(tx, id, r.workflow, withEscalatedStep(r.workflow, waiting.index), now)))
      return false;
    await appendAudit(
      tx,
      {
        actor: "system",
        action: ESCALATED,
        target: `request:${id}`,
        outcome: "success",
        details: {
          step: waiting.index,
          to: [...(waiting.step.escalate_to ?? [])],
          waited_ms: now.getTime() - waiting.since.getTime(),
        },
      },
      now,
    );
    await ctx.recordChange(tx, change);
    return true;
  });
  if (!done) return 0;
  ctx.afterCommit(change);
  return 1;
}
