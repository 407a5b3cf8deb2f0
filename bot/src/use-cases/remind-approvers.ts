/**
 * Reminders, run by the sweeper: a pending request whose waiting step sets `remind_after` gets
 * one reminder per interval it has waited (the approvers who may decide hear it by DM, one
 * message per approver and step, updated on later reminders). The reminder is recorded, audited
 * (`request.reminded`) and queued for Slack in one transaction, under a key of request, step and
 * interval: a restart or a second instance sweeping the same moment sends nothing twice. Missed
 * intervals (the bot was down) are not caught up one by one; the current one is sent.
 */
import type { RequestId } from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import { reminderRound } from "../core/step-timers.ts";
import { inTransaction } from "../store/in-transaction.ts";
import {
  hasNudgeSince,
  insertNudge,
  latestReminder,
  snoozedAt,
  type Nudge,
} from "../store/request-nudges-repo.ts";
import { findRequest, type RequestRecord } from "../store/requests-repo.ts";
import type { BotContext, RequestChange } from "./bot-context.ts";
import { waitingStep } from "./waiting-step.ts";

export const REMINDED = "request.reminded";

/** Sends the reminders now due; returns how many requests were reminded. */
export async function remindApprovers(ctx: BotContext, pending: readonly RequestRecord[]): Promise<number> {
  let reminded = 0;
  for (const r of pending) {
    const due = await dueReminder(ctx.store, r, ctx.clock.now());
    if (due !== undefined && !(await hasNudgeSince(ctx.store, due))) reminded += await remind(ctx, r.id);
  }
  return reminded;
}

async function dueReminder(
  db: Parameters<typeof findRequest>[0],
  r: RequestRecord | undefined,
  now: Date,
): Promise<Nudge | undefined> {
  const waiting = r === undefined ? undefined : await waitingStep(db, r);
  if (r === undefined || waiting === undefined) return undefined;
  const round = reminderRound(waiting.step, waiting.since, now);
  return round === 0 ? undefined : { requestId: r.id, kind: "reminder", step: waiting.index, round };
}

async function remind(ctx: BotContext, id: RequestId): Promise<number> {
  const change: RequestChange = { requestId: id, action: REMINDED, actor: "system" };
  const sent = await inTransaction(ctx.store, async (tx) => {
    const now = ctx.clock.now();
    const due = await dueReminder(tx, await findRequest(tx, id), now);
    if (due === undefined || (await hasNudgeSince(tx, due)) || !(await insertNudge(tx, due, now)))
      return false;
    await appendAudit(
      tx,
      {
        actor: "system",
        action: REMINDED,
        target: `request:${id}`,
        outcome: "success",
        details: { step: due.step, round: due.round },
      },
      now,
    );
    await ctx.recordChange(tx, change);
    return true;
  });
  if (!sent) return 0;
  ctx.afterCommit(change);
  return 1;
}

/**
 * The reminder a Slack delivery draws: the newest recorded, while its step is still the one
 * waiting (an approval since then moved the request on, and nobody is reminded of a past step).
 */
export async function currentReminder(ctx: BotContext, id: RequestId): Promise<CurrentReminder | undefined> {
  const latest = await latestReminder(ctx.store, id);
  const r = await findRequest(ctx.store, id);
  const waiting = r === undefined ? undefined : await waitingStep(ctx.store, r);
  if (latest === undefined || waiting === undefined || waiting.index !== latest.step) return undefined;
  const now = ctx.clock.now();
  return {
    ...latest,
    waitedMs: now.getTime() - waiting.since.getTime(),
    snoozed: await snoozedAt(ctx.store, id, now),
  };
}

export interface CurrentReminder {
  readonly step: number;
  readonly round: number;
  readonly waitedMs: number;
  /** Who snoozed this request's reminders (snooze-reminder.ts) and is not reminded now. */
  readonly snoozed: ReadonlySet<string>;
}
