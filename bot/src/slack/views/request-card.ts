/**
 * What every view of a request is drawn from: the stored request as the protocol shows it, and
 * how to name people in Slack. Views never look anything up; the notifier and the listeners
 * build a card from stored state and hand it over.
 */
import { lateOutcomeOf, type LateOutcome, type RequestStatus, type RequestView } from "@dbward/shared";
import { escapeMrkdwn } from "../slack-text.ts";

export interface RequestCard {
  readonly request: RequestView;
  /** dbward user id → `<@U…>` for linked users; anyone missing is shown by id. */
  readonly people: Readonly<Record<string, string>>;
  /** dbward user ids of those who may decide the current step now. */
  readonly approvers: readonly string[];
}

export const STATUS_LABELS = {
  pending_approval: ":hourglass_flowing_sand: Waiting for approval",
  approved: ":white_check_mark: Approved",
  dispatched: ":outbox_tray: Approved, waiting for an agent",
  running: ":gear: Running",
  succeeded: ":large_green_circle: Succeeded",
  failed: ":red_circle: Failed",
  timed_out: ":alarm_clock: Timed out",
  lost: ":grey_question: Lost: the agent stopped reporting; it may or may not have run",
  rejected: ":no_entry: Rejected",
  expired: ":zzz: Expired without a decision",
  cancelled: ":heavy_minus_sign: Cancelled",
} as const satisfies Record<RequestStatus, string>;

/** What a late result (the agent's outcome journal) says, in place of the bare status. */
export const LATE_OUTCOME_LABELS = {
  succeeded_unreported: ":large_yellow_circle: Executed, result not delivered",
  unknown: ":grey_question: Outcome unknown: check the target",
} as const satisfies Record<LateOutcome, string>;

/** The latest execution's late outcome, when an agent reported one after its result was lost. */
export function lateOutcome(r: RequestView): LateOutcome | undefined {
  return lateOutcomeOf(r.executions.at(-1)?.error?.code);
}

/**
 * The status label, told apart where the status alone misleads: a request lost or succeeded
 * whose agent reported later that it committed, or that it cannot tell.
 */
export function statusLabel(r: RequestView): string {
  const late = r.status === "lost" || r.status === "succeeded" ? lateOutcome(r) : undefined;
  return late === undefined ? STATUS_LABELS[r.status] : LATE_OUTCOME_LABELS[late];
}

/** `<@U…>` for a linked user, the escaped user id otherwise. */
export function nameOf(card: RequestCard, userId: string): string {
  return card.people[userId] ?? escapeMrkdwn(userId);
}

/** Audit-style actors (`user:bob`, `agent:a1`, `system`) in words. */
export function actorName(card: RequestCard, actor: string): string {
  if (actor.startsWith("user:")) return nameOf(card, actor.slice(5));
  if (actor.startsWith("agent:")) return `agent \`${escapeMrkdwn(actor.slice(6))}\``;
  return "dbward";
}

export function target(r: RequestView): string {
  return `\`${r.database}\` / \`${r.environment}\``;
}

/** "1 of role:approver" — what the current step needs, with who may decide it now. */
export function whoMustApprove(card: RequestCard): string {
  const needs = stepNeeds(card.request);
  if (needs === undefined) return "nobody: no step is waiting";
  const who = card.approvers.map((id) => nameOf(card, id));
  return `${needs}${who.length > 0 ? `: ${who.join(", ")}` : ": nobody linked can approve it yet"}`;
}

/** "1 of `role:approver` (step 2 of 3)": what the waiting step needs, or undefined when none waits. */
export function stepNeeds(r: RequestView): string | undefined {
  const w = r.workflow;
  const step = w.current_step === null ? undefined : w.steps[w.current_step];
  if (r.status !== "pending_approval" || step === undefined) return undefined;
  const needs = `${step.min}${step.mode === "all" ? " each" : ""} of ${step.approvers.map((a) => `\`${a}\``).join(", ")}`;
  const stepNote =
    w.steps.length > 1
      ? ` (step ${w.current_step === null ? "" : w.current_step + 1} of ${w.steps.length})`
      : "";
  const escalated = step.escalated_to.map((a) => `\`${a}\``);
  const escalation = escalated.length > 0 ? `, or escalated to ${escalated.join(", ")}` : "";
  return `${needs}${escalation}${stepNote}`;
}

/** The latest execution's outcome in words, or undefined when nothing ran yet. */
export function executionSummary(r: RequestView): string | undefined {
  const e = r.executions.at(-1);
  if (e === undefined) return undefined;
  const rows = (r.operation === "read" ? e.row_count : (e.affected_rows ?? e.row_count)) ?? 0;
  const count =
    r.operation === "read"
      ? `${rows} row${rows === 1 ? "" : "s"}`
      : `${rows} row${rows === 1 ? "" : "s"} affected`;
  const took = e.duration_ms === null ? "" : ` in ${e.duration_ms} ms`;
  switch (lateOutcomeOf(e.error?.code)) {
    case "succeeded_unreported":
      return `${e.affected_rows === null && r.operation !== "read" ? "it committed" : count}; the agent stopped before the bot took its result, so the rows are not available`;
    case "unknown":
      return "it started, and the agent cannot tell whether it committed; check the target before running it again";
    case undefined:
      break;
  }
  switch (e.status) {
    case "running":
      return `running on agent \`${escapeMrkdwn(e.agent)}\``;
    case "succeeded":
      return `${count}${took}`;
    case "failed":
    case "timed_out":
      return `${e.status === "failed" ? "failed" : "timed out"}${took}: ${escapeMrkdwn(e.error?.message ?? "no error given")}`;
    case "lost":
      return "the agent stopped reporting; it may or may not have run";
    case "cancelled":
      return "stopped by cancellation";
  }
}
