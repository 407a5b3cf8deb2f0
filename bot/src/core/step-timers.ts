/**
 * The timed side of a waiting approval step, pure over the times the store holds: since when the
 * current step has waited, which reminder interval it is in, whether it is due to escalate, and
 * whether a pending request is near its expiry. The sweeper asks these; the store's unique keys
 * make each answer act once (remind-approvers.ts, escalate-approvals.ts, warn-near-expiry.ts).
 */
import type { StepSnapshot, WorkflowSnapshot } from "./workflow.ts";

/**
 * When step `step` began waiting: the request's creation for the first step, the latest approval
 * of the step before for a later one (that approval completed it).
 */
export function stepWaitingSince(
  createdAt: string,
  approvals: readonly { readonly step: number; readonly createdAt: string }[],
  step: number,
): Date {
  const previous = approvals.filter((a) => a.step === step - 1).map((a) => a.createdAt);
  const since = step === 0 || previous.length === 0 ? createdAt : previous.sort().at(-1);
  return new Date(since ?? createdAt);
}

/**
 * The reminder interval the step is in: 0 before `remind_after` has passed once (or when the step
 * has no reminders), n after it passed n times. One reminder per step and interval.
 */
export function reminderRound(step: StepSnapshot, since: Date, now: Date): number {
  const every = step.remind_after_ms;
  if (every === undefined || every <= 0) return 0;
  return Math.max(0, Math.floor((now.getTime() - since.getTime()) / every));
}

/** Whether the step has waited `escalate_after` and has not escalated yet. */
export function isEscalationDue(step: StepSnapshot, since: Date, now: Date): boolean {
  if (step.escalated === true || step.escalate_after_ms === undefined) return false;
  if ((step.escalate_to ?? []).length === 0) return false;
  return now.getTime() - since.getTime() >= step.escalate_after_ms;
}

/** The last tenth of a pending request's time to live: its requester hears it will expire soon. */
export const NEAR_EXPIRY_FRACTION = 0.1;

export function isNearExpiry(createdAt: string, expiresAt: string, now: Date): boolean {
  const created = Date.parse(createdAt);
  const expires = Date.parse(expiresAt);
  const ttl = expires - created;
  if (!(ttl > 0)) return false;
  return now.getTime() >= expires - ttl * NEAR_EXPIRY_FRACTION && now.getTime() < expires;
}

/** The snapshot with step `index` escalated: its `escalate_to` selectors may decide on it too. */
export function withEscalatedStep(workflow: WorkflowSnapshot, index: number): WorkflowSnapshot {
  return { ...workflow, steps: workflow.steps.map((s, i) => (i === index ? { ...s, escalated: true } : s)) };
}
