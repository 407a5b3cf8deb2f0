/**
 * "Snooze 1h" on a reminder DM: the approver hears no reminder about the request for an hour
 * (reminder-delivery.ts leaves them out; the reminders themselves keep their schedule for the
 * others). Only someone who may decide the waiting step now can snooze it; the snooze and its
 * audit event (`request.reminder_snoozed`) are one transaction, and a refusal is audited too.
 */
import { DbwardError, type RequestId } from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import { canDecide } from "../core/approval-decision.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { saveSnooze } from "../store/request-nudges-repo.ts";
import { listApprovals } from "../store/requests-repo.ts";
import type { BotContext } from "./bot-context.ts";
import { actorOf, type UserCaller } from "./caller.ts";
import { findRequestOrThrow } from "./find-request-or-throw.ts";
import { findVisibleRequest } from "./read-requests.ts";
import { recordDenial } from "./record-denial.ts";

export const SNOOZE_MS = 3_600_000;

/** Snoozes the caller's reminders about request `id`; answers until when. */
export async function snoozeReminder(ctx: BotContext, caller: UserCaller, id: RequestId): Promise<Date> {
  const actor = actorOf(caller);
  await findVisibleRequest(ctx, caller, id);
  const outcome = await inTransaction(ctx.store, async (tx) => {
    const request = await findRequestOrThrow(tx, id);
    const approved = (await listApprovals(tx, id)).filter((a) => a.decision === "approved");
    const check = canDecide(request, caller.user, approved);
    if (!check.ok) {
      return {
        refused: new DbwardError(
          check.code === "not_pending" || check.code === "already_decided"
            ? "request.already_decided"
            : "auth.forbidden",
          `nothing to snooze: ${check.message}`,
        ),
      } as const;
    }
    const now = ctx.clock.now();
    const until = new Date(now.getTime() + SNOOZE_MS);
    await saveSnooze(tx, id, caller.user.id, until);
    await appendAudit(
      tx,
      {
        actor,
        action: "request.reminder_snoozed",
        target: `request:${id}`,
        outcome: "success",
        details: { step: check.step, until: until.toISOString() },
      },
      now,
    );
    return { until } as const;
  });
  if ("refused" in outcome)
    return recordDenial(ctx, {
      actor,
      action: "request.reminder_snooze_refused",
      target: `request:${id}`,
      error: outcome.refused,
    });
  return outcome.until;
}
