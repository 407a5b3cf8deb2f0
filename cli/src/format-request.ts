/**
 * Human-readable views of requests for the terminal. SQL is drawn with `displaySql`: a character
 * that does not show (a bidirectional override, a zero-width space, an ESC that would rewrite the
 * terminal) prints as `⟨U+XXXX⟩`, so what the reader sees is what runs.
 */
import {
  lateOutcomeOf,
  type ExecutionView,
  type LateOutcome,
  type RequestView,
  type ResultTruncation,
  type ResultView,
  type StepView,
} from "@dbward/shared/protocol";
import { describeDryRun, describePlanSummary } from "@dbward/shared/plan-summary";
import { describeTouchedTable, visibleName } from "@dbward/shared/schema-context";
import { displaySql } from "@dbward/shared/sql/display-sql";
import { formatTable } from "./format-table.ts";

export function formatRequest(r: RequestView): string {
  const lines = [
    `#${r.id}  ${r.status}${r.status_reason ? ` (${r.status_reason})` : ""}`,
    `  database:  ${r.database} / ${r.environment}   operation: ${r.operation}   risk: ${r.review.risk}`,
    `  requester: ${r.requester}   reason: ${r.reason}`,
    ...(typeof r.rerun_of === "number" ? [`  Run again of #${r.rerun_of}`] : []),
    `  workflow:  ${r.workflow.name} (auto-approve: ${r.workflow.auto_approve})`,
    ...r.workflow.steps.map((s, i) => `  ${i === r.workflow.current_step ? "→" : " "} ${formatStep(s)}`),
    ...(typeof r.workflow.row_guard === "number"
      ? [`  row guard: at most ${r.workflow.row_guard} row(s) changed, or the write is rolled back`]
      : []),
    ...runLines(r),
    ...planLines(r),
    ...dryRunLines(r),
    ...touchedTableLines(r),
    ...(r.break_glass_reason ? [`  BREAK-GLASS: ${r.break_glass_reason}`] : []),
    `  sql:       ${displaySql(r.sql).split("\n").join("\n             ")}`,
  ];
  for (const f of r.review.findings) lines.push(`  finding:   [${f.severity}] ${f.rule}: ${f.message}`);
  for (const a of r.approvals)
    lines.push(`  ${a.decision} by ${a.approver} at ${a.at}${a.comment ? `: ${a.comment}` : ""}`);
  for (const e of r.executions) {
    const rows =
      e.affected_rows !== null
        ? `, ${e.affected_rows} row(s) changed`
        : e.row_count === null
          ? ""
          : `, ${e.row_count} row(s)`;
    const took = e.duration_ms === null ? "" : ` in ${e.duration_ms} ms`;
    lines.push(
      `  execution ${e.number} on ${e.agent}: ${executionStatus(e)}${rows}${took}${e.error ? ` — ${e.error.message}` : ""}`,
    );
  }
  return lines.join("\n");
}

/**
 * When it runs: under `run: by_requester`, whether it waits for its requester (and until when),
 * and any approver's "not before". Older bots send no schedule.
 */
function runLines(r: RequestView): string[] {
  const schedule = r.run_schedule as RequestView["run_schedule"] | undefined;
  const lines: string[] = [];
  if (r.workflow.run === "by_requester") {
    const asked = schedule?.run_requested_at ?? null;
    const by = schedule?.run_by ?? null;
    lines.push(
      asked !== null
        ? `  run:       by its requester, asked at ${asked}`
        : r.status === "approved"
          ? `  run:       waits for its requester: dbward request run ${r.id}${by === null ? "" : ` before ${by}`}`
          : "  run:       by its requester once approved (dbward request run)",
    );
  }
  if (typeof schedule?.not_before === "string") lines.push(`  not before: ${schedule.not_before}`);
  return lines;
}

/** The plan an agent made for the approvers (older bots send none). */
function planLines(r: RequestView): string[] {
  const explain = (r.preflights as RequestView["preflights"] | undefined)?.find((p) => p.kind === "explain");
  if (explain === undefined) return [];
  if (explain.status === "succeeded" && explain.summary !== null)
    return [
      `  plan:      ${displaySql(describePlanSummary(explain.summary))} (estimate; dbward request plan ${r.id})`,
    ];
  if (explain.status === "failed")
    return [`  plan:      none: ${displaySql(visibleName(explain.error?.message ?? "planning failed"))}`];
  return [`  plan:      ${explain.status === "running" ? "being made" : "waiting for an agent"}`];
}

/** The tables the statement changes, with sizes and cascades from the agent's schema context (older bots send none). */
function touchedTableLines(r: RequestView): string[] {
  const touched = (r.touched_tables as RequestView["touched_tables"] | undefined) ?? [];
  if (touched.length === 0) return [];
  const asOf = r.schema_collected_at === null ? "" : ` (schema as of ${r.schema_collected_at})`;
  return [`  changes:${asOf}`, ...touched.map((t) => `    ${displaySql(describeTouchedTable(t))}`)];
}

/** The agent's dry run of a write: the rows it changed before it was rolled back (older bots send none). */
function dryRunLines(r: RequestView): string[] {
  const dry = (r.preflights as RequestView["preflights"] | undefined)?.find((p) => p.kind === "dry_run");
  if (dry === undefined) return [];
  if (dry.status === "succeeded" && typeof dry.affected_rows === "number")
    return [`  dry run:   ${describeDryRun(dry.affected_rows, dry.duration_ms)}`];
  if (dry.status === "failed")
    return [`  dry run:   no count: ${displaySql(visibleName(dry.error?.message ?? "the dry run failed"))}`];
  return [`  dry run:   ${dry.status === "running" ? "being counted" : "waiting for an agent"}`];
}

/**
 * One approval step: who must approve, who did. An escalated step (`escalate_after`) names the
 * selectors it widened to, since they may decide it too.
 */
function formatStep(s: StepView): string {
  const who = `${s.min}${s.mode === "all" ? " each" : ""} of ${s.approvers.join(", ")}`;
  const escalated = s.escalated_to.length > 0 ? `; escalated to ${s.escalated_to.join(", ")}` : "";
  const approved = s.approved_by.length > 0 ? ` — approved by ${s.approved_by.join(", ")}` : "";
  const waived =
    typeof s.waived_for_rows === "number" ? ` — waived: the dry run counted ${s.waived_for_rows} row(s)` : "";
  return `${s.name}: ${who}${escalated}${approved}${waived}${s.satisfied ? " ✓" : ""}`;
}

/** What the agent reported late, beside the status it could not change. */
const LATE_STATUS = {
  succeeded_unreported: "executed, result not delivered",
  unknown: "outcome unknown",
} as const satisfies Record<LateOutcome, string>;

function executionStatus(e: ExecutionView): string {
  const late = lateOutcomeOf(e.error?.code);
  return late === undefined ? e.status : `${e.status} (${LATE_STATUS[late]})`;
}

export function formatRequestLine(r: RequestView): string {
  // Escaped first: `\s` also matches U+FEFF and U+2028/2029, which would vanish into a space.
  const sql = displaySql(r.sql).replace(/\s+/g, " ");
  return `#${String(r.id).padEnd(5)} ${r.status.padEnd(17)} ${`${r.database}/${r.environment}`.padEnd(22)} ${r.requester.padEnd(10)} ${sql.length > 50 ? `${sql.slice(0, 49)}…` : sql}`;
}

export function formatResult(r: ResultView): string {
  const table = r.columns.length === 0 ? `${r.row_count} row(s) affected` : formatTable(r.columns, r.rows);
  const note = r.truncated
    ? `\n(${r.rows.length} of ${r.row_count} stored rows shown; the result was truncated by the ${truncationCause(r.truncated_by)})`
    : `\n(${r.preview === true ? `${r.rows.length} of ` : ""}${r.row_count} row(s), ${r.duration_ms} ms)`;
  return `${table}${note}`;
}

/** What cut a result short, as a person reads it (a result truncated before `truncated_by` existed: the row cap). */
export function truncationCause(by: ResultTruncation | null | undefined): string {
  return by === "bytes" ? "byte cap" : by === "undelivered" ? "agent's delivery" : "row cap";
}
