/**
 * Approval progress and who may decide next: pure functions over a request's workflow snapshot
 * and its recorded approvals. Steps are approved in order; within a step an approval counts for
 * one selector. Separation of duties (SECURITY.md principle 6): the requester never decides on
 * their own request, and one person approves one step, unless the snapshot explicitly allows it.
 */
import type { RequestStatus } from "@dbward/shared";
import type { Role } from "../config/bot-config.ts";
import type { StepSnapshot, WorkflowSnapshot } from "./workflow.ts";

export interface Decider {
  readonly id: string;
  readonly roles: readonly Role[];
  readonly groups: readonly string[];
}

/** An approval as progress counts it: who, for which step, under which selector. */
export interface ApprovalEntry {
  readonly approver: string;
  readonly step: number;
  readonly selector: string;
}

export interface StepProgress {
  readonly step: StepSnapshot;
  /** Approvers counted so far, per selector (in `any` mode under the selector they matched). */
  readonly counted: ReadonlyMap<string, readonly string[]>;
  readonly satisfied: boolean;
}

export interface ApprovalProgress {
  readonly steps: readonly StepProgress[];
  /** Index of the first step still needing approvals; undefined when all are satisfied. */
  readonly current: number | undefined;
}

export function approvalProgress(
  workflow: WorkflowSnapshot,
  approvals: readonly ApprovalEntry[],
): ApprovalProgress {
  const steps = workflow.steps.map((step, i): StepProgress => {
    // In `any` mode an escalation target counts under its own selector; in `all` mode it stands
    // in for one of the step's selectors (canDecide picks which), so the requirement stays the same.
    const selectors = step.mode === "any" ? [...step.approvers, ...escalatedTo(step)] : step.approvers;
    const counted = new Map<string, string[]>(selectors.map((s) => [s, []]));
    for (const a of approvals) if (a.step === i) counted.get(a.selector)?.push(a.approver);
    const total = new Set([...counted.values()].flat()).size;
    const satisfied =
      step.waived !== undefined ||
      (step.mode === "any"
        ? total >= step.min
        : [...counted.values()].every((list) => list.length >= step.min));
    return { step, counted, satisfied };
  });
  const current = steps.findIndex((s) => !s.satisfied);
  return { steps, current: current === -1 ? undefined : current };
}

export function matchesSelector(decider: Decider, selector: string): boolean {
  const [kind, value] = selector.split(":", 2);
  if (kind === "role") return (decider.roles as readonly string[]).includes(value ?? "");
  if (kind === "group") return decider.groups.includes(value ?? "");
  return kind === "user" && decider.id === value;
}

export type DecisionRefusal = "not_pending" | "self_approval" | "not_approver" | "already_decided";
export type DecisionCheck =
  | { readonly ok: true; readonly step: number; readonly selector: string }
  | { readonly ok: false; readonly code: DecisionRefusal; readonly message: string };

/**
 * `as`: the selector the decider approves as, when they match several that still need approvals
 * (an `all` step of `group:dba` and `group:security` and someone in both). Without it the first
 * of them is taken, the steps' own order; with one they do not match, or that needs no more
 * approvals, the decision is refused and the message names the ones they may approve as.
 */
export function canDecide(
  request: { status: RequestStatus; requester: string; workflow: WorkflowSnapshot },
  decider: Decider,
  approvals: readonly ApprovalEntry[],
  as?: string,
): DecisionCheck {
  const refuse = (code: DecisionRefusal, message: string): DecisionCheck => ({ ok: false, code, message });
  if (request.status !== "pending_approval")
    return refuse("not_pending", `request is ${request.status}, not pending approval`);
  if (request.requester === decider.id && !request.workflow.allow_self_approval) {
    return refuse("self_approval", "you cannot approve or reject your own request");
  }
  const progress = approvalProgress(request.workflow, approvals);
  const index = progress.current;
  const current = index === undefined ? undefined : progress.steps[index];
  if (index === undefined || current === undefined)
    return refuse("not_pending", "every approval step is already satisfied");
  if (approvals.some((a) => a.approver === decider.id && a.step === index)) {
    return refuse("already_decided", "you have already approved this step");
  }
  if (
    !request.workflow.allow_same_approver_across_steps &&
    approvals.some((a) => a.approver === decider.id)
  ) {
    return refuse("already_decided", "you approved an earlier step; another person must approve this one");
  }
  const open = current.step.approvers.filter(
    (s) =>
      matchesSelector(decider, s) &&
      (current.step.mode === "any" || (current.counted.get(s)?.length ?? 0) < current.step.min),
  );
  if (as !== undefined && !open.includes(as)) {
    return refuse(
      "not_approver",
      open.length === 0
        ? `you cannot approve as ${as} here: ${current.step.name} needs ${describeStep(current.step)}`
        : `you cannot approve as ${as} here; you may approve as ${open.join(" or ")}`,
    );
  }
  const selector = as ?? open[0] ?? escalationSelector(current, decider);
  if (selector === undefined) {
    return refuse(
      "not_approver",
      `${current.step.name} of workflow ${request.workflow.name} needs ${describeStep(current.step)}`,
    );
  }
  return { ok: true, step: index, selector };
}

/** The selectors an escalated step added; none before it escalated. */
export function escalatedTo(step: StepSnapshot): readonly string[] {
  return step.escalated === true ? (step.escalate_to ?? []) : [];
}

/**
 * The selector an approval by an escalation target counts under: its own in `any` mode, the first
 * of the step's selectors still short of approvals in `all` mode.
 */
function escalationSelector(current: StepProgress, decider: Decider): string | undefined {
  const step = current.step;
  if (!escalatedTo(step).some((s) => matchesSelector(decider, s))) return undefined;
  if (step.mode === "any") return escalatedTo(step).find((s) => matchesSelector(decider, s));
  return step.approvers.find((s) => (current.counted.get(s)?.length ?? 0) < step.min);
}

/** "2 of role:approver, group:dba" / "1 each of group:dba, group:security". */
export function describeStep(step: StepSnapshot): string {
  const widened = escalatedTo(step);
  const escalation = widened.length > 0 ? ` (escalated: ${widened.join(", ")} too)` : "";
  return `${step.min}${step.mode === "all" ? " each" : ""} of ${step.approvers.join(", ")}${escalation}`;
}
