/**
 * Workflow matching: which approval policy applies to a request. Pure. The most specific match
 * wins — a named environment over `*`, then a named database over `*`, then an operation list
 * over none; equally specific matches are a config error reported when the request is made, and
 * no match refuses the request (SECURITY.md principle 2). The matched workflow is snapshotted
 * into the request, so a config change never alters a request in flight.
 */
import type { OperationClass, SqlRisk } from "@dbward/shared";
import type { Role, WorkflowConfig } from "../config/bot-config.ts";
import type { StepUpRisk } from "../config/step-up-config.ts";

/** How long a `by_requester` request waits for its requester by default. */
export const DEFAULT_RUN_WITHIN_MS = 86_400_000;
/** The longest `run_within` a workflow may set: an approval is not a standing permission. */
export const MAX_RUN_WITHIN_MS = 7 * 86_400_000;

export type AutoApprove =
  | "never"
  | "always"
  | { readonly risk_at_most: "low" | "medium" | "high" }
  /** A write whose dry-run count is at most this; decided when the count is in (row-bounds.ts). */
  | { readonly max_rows: number };

/** A write's row bound from its dry run: the count plus this whole percentage. */
export interface DryRunGuard {
  readonly kind: "dry_run_count";
  readonly tolerance_percent: number;
}

export interface StepSnapshot {
  readonly name: string;
  readonly approvers: readonly string[];
  readonly mode: "any" | "all";
  readonly min: number;
  /** Re-notify the approvers each time the step has waited this long. */
  readonly remind_after_ms?: number;
  /** After this long waiting, `escalate_to` may decide on the step too. */
  readonly escalate_after_ms?: number;
  readonly escalate_to?: readonly string[];
  /** The step applies to writes whose dry run counted at least this many rows (row-bounds.ts). */
  readonly min_rows?: number;
  /** Set when the dry run's count came in under `min_rows`: the step needs no approval. */
  readonly waived?: { readonly rows: number };
  /**
   * Set by the sweeper (escalate-approvals.ts) once the step escalated: the only part of a
   * snapshot that changes after creation, and only ever widening who may decide.
   */
  readonly escalated?: boolean;
}

/** What a request carries of its workflow, frozen at creation. */
export interface WorkflowSnapshot {
  readonly name: string;
  readonly auto_approve: AutoApprove;
  readonly steps: readonly StepSnapshot[];
  readonly allow_self_approval: boolean;
  readonly allow_same_approver_across_steps: boolean;
  readonly break_glass_roles: readonly Role[];
  /** The row guard for writes (absent: none); signed into each execution token. */
  readonly max_rows?: number;
  /** A second row guard for writes, from the dry run's count (absent: none); signed too. */
  readonly guard?: DryRunGuard;
  /**
   * `by_requester`: an approved request waits for its requester to run it, for `run_within_ms`.
   * Absent (snapshots from before run modes): `on_approval`.
   */
  readonly run?: "by_requester";
  readonly run_within_ms?: number;
  /**
   * Approvals count only after a fresh sign-in at the identity provider (step-up-*.ts): for
   * every request, or from `risk_at_least` up. Absent: a click or an API call is enough.
   */
  readonly step_up?: StepUpSnapshot;
}

export interface StepUpSnapshot {
  readonly method: "oidc";
  readonly risk_at_least?: StepUpRisk;
}

export interface MatchTarget {
  readonly database: string;
  readonly environment: string;
  readonly operation: OperationClass;
}

/** One line of the decision trace `dbward policy explain` prints. */
export interface TraceLine {
  readonly workflow: string;
  readonly matched: boolean;
  readonly why: string;
  readonly specificity?: number;
}

export type WorkflowMatch =
  | { readonly ok: true; readonly workflow: WorkflowSnapshot; readonly trace: readonly TraceLine[] }
  | { readonly ok: false; readonly reason: string; readonly trace: readonly TraceLine[] };

export function matchWorkflow(workflows: readonly WorkflowConfig[], target: MatchTarget): WorkflowMatch {
  const trace: TraceLine[] = [];
  const candidates: { w: WorkflowConfig; score: number }[] = [];
  for (const w of workflows) {
    const miss = mismatch(w, target);
    if (miss !== undefined) {
      trace.push({ workflow: w.name, matched: false, why: miss });
      continue;
    }
    const score = specificity(w);
    trace.push({ workflow: w.name, matched: true, why: `covers ${describe(w)}`, specificity: score });
    candidates.push({ w, score });
  }
  candidates.sort((a, b) => b.score - a.score);
  const [best, second] = candidates;
  if (best === undefined) {
    return {
      ok: false,
      trace,
      reason: `no workflow covers ${target.operation} on ${target.database} in ${target.environment}; ask an admin to add one`,
    };
  }
  if (second !== undefined && second.score === best.score) {
    return {
      ok: false,
      trace,
      reason: `workflows ${best.w.name} and ${second.w.name} match ${target.database}/${target.environment} equally; ask an admin to make one more specific`,
    };
  }
  return { ok: true, trace, workflow: snapshotOf(best.w) };
}

function mismatch(w: WorkflowConfig, t: MatchTarget): string | undefined {
  if (w.database !== "*" && w.database !== t.database) return `database is ${w.database}`;
  if (w.environment !== "*" && w.environment !== t.environment) return `environment is ${w.environment}`;
  if (w.operations !== undefined && !w.operations.includes(t.operation))
    return `operations are ${w.operations.join(", ")}`;
  return undefined;
}

function describe(w: WorkflowConfig): string {
  return `database ${w.database}, environment ${w.environment}, operations ${w.operations?.join("/") ?? "*"}`;
}

/** Environment outranks database outranks operation list (the precedence order). */
function specificity(w: WorkflowConfig): number {
  return (
    (w.environment === "*" ? 0 : 4) + (w.database === "*" ? 0 : 2) + (w.operations === undefined ? 0 : 1)
  );
}

function snapshotOf(w: WorkflowConfig): WorkflowSnapshot {
  return {
    name: w.name,
    auto_approve: w.auto_approve,
    steps: w.steps.map((s, i) => ({
      name: s.name ?? `step ${i + 1}`,
      approvers: [...s.approvers],
      mode: s.mode,
      min: s.min,
      ...(s.remind_after !== undefined ? { remind_after_ms: s.remind_after } : {}),
      ...(s.escalate_after !== undefined && s.escalate_to !== undefined
        ? { escalate_after_ms: s.escalate_after, escalate_to: [...s.escalate_to] }
        : {}),
      ...(s.min_rows !== undefined ? { min_rows: s.min_rows } : {}),
    })),
    allow_self_approval: w.allow_self_approval,
    allow_same_approver_across_steps: w.allow_same_approver_across_steps,
    break_glass_roles: [...w.break_glass_roles],
    ...(w.max_rows !== undefined ? { max_rows: w.max_rows } : {}),
    ...(w.guard !== undefined
      ? { guard: { kind: w.guard, tolerance_percent: Number((w.guard_tolerance ?? "0%").slice(0, -1)) } }
      : {}),
    ...(w.run === "by_requester"
      ? { run: "by_requester", run_within_ms: w.run_within ?? DEFAULT_RUN_WITHIN_MS }
      : {}),
    ...(w.step_up === undefined
      ? {}
      : { step_up: w.step_up === "oidc" ? { method: "oidc" } : { ...w.step_up } }),
  };
}

const STEP_UP_ORDER = { low: 0, medium: 1, high: 2, critical: 3 } as const;

/**
 * Whether an approval of a request with this risk needs a fresh sign-in. A risk the review
 * could not name (unknown, unavailable) counts as the highest: fail closed.
 */
export function needsStepUp(workflow: WorkflowSnapshot, risk: SqlRisk): boolean {
  const stepUp = workflow.step_up;
  if (stepUp === undefined) return false;
  if (stepUp.risk_at_least === undefined) return true;
  const level = risk === "unknown" || risk === "unavailable" ? STEP_UP_ORDER.critical : STEP_UP_ORDER[risk];
  return level >= STEP_UP_ORDER[stepUp.risk_at_least];
}

const RISK_ORDER = { low: 0, medium: 1, high: 2 } as const;

/** Whether a request with this risk skips approval. Unknown, unavailable and critical never do. */
export function autoApproves(auto: AutoApprove, risk: SqlRisk): boolean {
  if (auto === "always") return true;
  if (auto === "never") return false;
  // By rows: only once the dry run has counted them (row-bounds.ts), never at creation.
  if ("max_rows" in auto) return false;
  if (risk !== "low" && risk !== "medium" && risk !== "high") return false;
  return RISK_ORDER[risk] <= RISK_ORDER[auto.risk_at_most];
}
