/**
 * What a reminder says: the DM each approver gets (the request's card with its buttons, led by
 * how long it has waited, and a "Snooze 1h" button) and the line in the post's thread naming
 * who was reminded.
 */
import { approvalMessage } from "./approval-message.ts";
import { SLACK_IDS } from "../ids.ts";
import { button, section, type SlackMessage } from "./blocks.ts";
import { nameOf, type RequestCard } from "./request-card.ts";

/** "2h 5m", "45m", "30s": how long a step has waited, coarse enough to read at a glance. */
export function waitedFor(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return `${Math.max(0, Math.floor(ms / 1000))}s`;
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const rest = minutes % 60;
  const parts = [days > 0 ? `${days}d` : "", hours > 0 ? `${hours}h` : "", rest > 0 ? `${rest}m` : ""];
  return parts.filter((p) => p !== "").join(" ");
}

/**
 * The reminder DM; `waitedMs` undefined when it is redrawn after a later change (the wait it
 * told of is over or moved on). Buttons only while the person may still decide.
 */
export function reminderMessage(card: RequestCard, canDecide: boolean, waitedMs?: number): SlackMessage {
  const lead =
    waitedMs === undefined
      ? ":bell: *Reminder* about this request."
      : `:bell: *Reminder:* this request has waited ${waitedFor(waitedMs)} for your decision.`;
  const message = approvalMessage(card, { showSql: true, buttons: canDecide, lead });
  if (!canDecide || card.request.status !== "pending_approval") return message;
  const snooze = button("Snooze 1h", SLACK_IDS.actions.snoozeReminder, String(card.request.id));
  return { ...message, blocks: [...message.blocks, { type: "actions", elements: [snooze] }] };
}

/** The thread line: "Reminder sent to Bob, Carol." */
export function reminderThreadLine(card: RequestCard, userIds: readonly string[]): SlackMessage {
  const text = `:bell: Reminder sent to ${userIds.map((id) => nameOf(card, id)).join(", ")}.`;
  return { text, blocks: [section(text)] };
}
