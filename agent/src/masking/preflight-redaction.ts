/**
 * Preflights of a statement whose token carries masks. A plan (EXPLAIN, never ANALYZE) shows the
 * statement's own constants and the planner's estimates, never a stored value; a dry run reports
 * a count. But a dry run executes the write, and its failure can quote stored values like any
 * database error (`Key (email)=(…) already exists`): such a message is withheld, keeping the
 * SQLSTATE or MySQL error code the driver appended (`… (23505)`). The agent's own refusals
 * (`sql.unverified`, `token.*`) quote nothing from the database and are kept.
 */
import type { PreflightResultBody } from "@dbward/shared";

type Report = Omit<PreflightResultBody, "duration_ms" | "session">;

/** Codes whose messages are the database's own words. */
const DATABASE_FAILURES = new Set(["execution.failed"]);

export function redactPreflightReport(report: Report, masked: boolean): Report {
  const error = report.error;
  if (!masked || error === undefined || !DATABASE_FAILURES.has(error.code)) return report;
  const code = /\(([0-9A-Z_]{5,64})\)$/.exec(error.message)?.[1];
  return {
    ...report,
    error: {
      code: error.code,
      message: `the database refused the statement${code === undefined ? "" : ` (${code})`}; its message is withheld because the target has masked columns and the message could quote their values`,
    },
  };
}
