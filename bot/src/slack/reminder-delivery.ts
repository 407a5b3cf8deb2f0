/**
 * The `reminder` delivery: the newest reminder of a request (remind-approvers.ts) to each
 * approver who may decide now, read when it runs. One DM per approver and step: the first
 * reminder posts it, later ones update it in place (so a long wait is one message, not a flood);
 * then one line in the post's thread says who was reminded. Nothing when the step it was for is
 * no longer waiting (approved, rejected, expired since); nothing to whoever snoozed it.
 */
import type { RequestId } from "@dbward/shared";
import { describeRequest } from "../use-cases/describe-request.ts";
import { currentReminder } from "../use-cases/remind-approvers.ts";
import { cardOf } from "./cards.ts";
import { forEachPerson, type RequestDeliveryDeps } from "./request-deliveries.ts";
import type { Progress } from "./slack-sender.ts";
import { reminderMessage, reminderThreadLine } from "./views/reminder-message.ts";

export async function sendReminder(d: RequestDeliveryDeps, id: RequestId, progress: Progress): Promise<void> {
  const reminder = await currentReminder(d.ctx, id);
  if (reminder === undefined) return;
  const description = await describeRequest(d.ctx, id);
  const card = cardOf(description);
  const sent = (await d.refs.reminderDms(id)).get(reminder.step) ?? new Map();
  const message = reminderMessage(card, true, reminder.waitedMs);
  const reminded: string[] = [];
  await forEachPerson(description.approvers, async (u) => {
    if (u.slackUserId === null || reminder.snoozed.has(u.id)) return;
    const known = sent.get(u.id);
    if (known !== undefined) await d.calls.update(known, message);
    else await d.refs.saveReminderDm(id, reminder.step, u.id, await d.calls.dm(u.slackUserId, message));
    reminded.push(u.id);
  });
  const post = await d.refs.post(id);
  if (post === undefined || reminded.length === 0) return;
  await progress.once(`thread:${reminder.step}:${reminder.round}`, async () => {
    await d.calls.post(post.channel, reminderThreadLine(card, reminded), post.ts);
  });
}
