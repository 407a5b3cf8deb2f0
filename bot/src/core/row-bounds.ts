/**
 * Decisions that rest on how many rows a write changes, as its dry run counted them (the
 * `dry_run` preflight: the write run and rolled back before approval). Pure: the caller brings
 * the workflow snapshot and the count, if there is one.
 *
 * - The row bound signed into a write's execution token: the workflow's `max_rows`, with
 *   `guard: dry_run_count` the count plus its tolerance, and for a write whose count let it be
 *   auto-approved (`auto_approve: { max_rows: N }`) N, whichever is lowest. The agent rolls back
 *   a write that changes more (`execution.row_guard`), so a compromised bot cannot lift it.
 * - Whether approvers must wait for the count: under the guard the count is what they approve,
 *   so no approval counts until it is in.
 * - Auto-approval by rows (`auto_approve: { max_rows: N }`): a write whose count is at most N.
 *
 * Without a count every answer fails closed: no bound can be signed, nobody may approve yet,
 * nothing is auto-approved.
 */
import { MAX_GUARD_ROWS, type OperationClass } from "@dbward/shared";
import type { WorkflowSnapshot } from "./workflow.ts";

export type RowBound =
  { readonly ok: true; readonly maxRows: number | null } | { readonly ok: false; readonly reason: string };

/** The bound for a write's token (null: none); reads and DDL never have one. */
export function rowBound(
  workflow: WorkflowSnapshot,
  operation: OperationClass,
  dryRunCount: number | undefined,
): RowBound {
  if (operation !== "write") return { ok: true, maxRows: null };
  const auto = workflow.auto_approve;
  // A write small enough to approve itself stays that small when it runs: its count may differ
  // from the real run's (rows added meanwhile, a setting the dry run changed), and no person saw it.
  const byRows =
    typeof auto === "object" &&
    "max_rows" in auto &&
    dryRunCount !== undefined &&
    dryRunCount <= auto.max_rows
      ? auto.max_rows
      : null;
  // Likewise a write whose count waived a step (`min_rows`) stays under that step's threshold.
  const waived = workflow.steps.flatMap((s) =>
    s.waived !== undefined && s.min_rows !== undefined ? [s.min_rows - 1] : [],
  );
  const underWaived = waived.length === 0 ? null : Math.min(...waived);
  const fixed = lower(lower(workflow.max_rows ?? null, byRows), underWaived);
  if (workflow.guard === undefined) return { ok: true, maxRows: fixed };
  if (dryRunCount === undefined)
    return {
      ok: false,
      reason: `workflow ${workflow.name} bounds each write by its dry run's count, and this write has no count`,
    };
  // Within what a token can carry: no real write comes near it, and past it signing would fail.
  const counted = Math.min(
    MAX_GUARD_ROWS,
    Math.floor((dryRunCount * (100 + workflow.guard.tolerance_percent)) / 100),
  );
  return { ok: true, maxRows: lower(fixed, counted) };
}

function lower(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}

/** Whether approvals must wait for the dry run's count: the guard makes the count part of what is approved. */
export function awaitsDryRunCount(workflow: WorkflowSnapshot, operation: OperationClass): boolean {
  return operation === "write" && workflow.guard !== undefined;
}

/**
 * The workflow with every step whose `min_rows` the dry run's count is under marked waived, or
 * undefined when none is: "writes over 10,000 rows need a second approver" is a second step with
 * `min_rows: 10000`, which a 12-row write skips once it has been counted.
 */
export function withStepsWaivedByRows(
  workflow: WorkflowSnapshot,
  operation: OperationClass,
  dryRunCount: number,
): WorkflowSnapshot | undefined {
  if (operation !== "write") return undefined;
  const waive = (s: WorkflowSnapshot["steps"][number]): boolean =>
    s.waived === undefined && s.min_rows !== undefined && dryRunCount < s.min_rows;
  if (!workflow.steps.some(waive)) return undefined;
  return {
    ...workflow,
    steps: workflow.steps.map((s) => (waive(s) ? { ...s, waived: { rows: dryRunCount } } : s)),
  };
}

/** Whether a write is auto-approved by its dry run's count (`auto_approve: { max_rows }`). */
export function autoApprovesByRows(
  workflow: WorkflowSnapshot,
  operation: OperationClass,
  dryRunCount: number,
): boolean {
  const auto = workflow.auto_approve;
  return (
    operation === "write" && typeof auto === "object" && "max_rows" in auto && dryRunCount <= auto.max_rows
  );
}
