/**
 * The human rendering of a review for `dbward review`: class and risk first, then one line per
 * finding with its hint beneath. Plain text, no colour codes, so it pipes and logs cleanly.
 */
import type { SqlFinding, SqlReview } from "./review.ts";

/**
 * Renders `review`. With the reviewed `sql`, positions print as line:column; without it, as
 * character offsets.
 */
export function formatReview(review: SqlReview, sql?: string): string {
  const lines = [`class: ${review.class}`, `risk:  ${review.risk}`];
  if (review.findings.length === 0) {
    lines.push("findings: none");
  } else {
    lines.push(`findings (${review.findings.length}):`);
    for (const finding of review.findings) lines.push(...formatFinding(finding, sql));
  }
  return lines.join("\n");
}

function formatFinding(finding: SqlFinding, sql: string | undefined): string[] {
  const where = finding.position === undefined ? "" : ` at ${formatPosition(finding.position, sql)}`;
  const lines = [`  [${finding.severity}] ${finding.rule}${where}: ${finding.message}`];
  if (finding.hint !== undefined) lines.push(`          hint: ${finding.hint}`);
  return lines;
}

/** `line:column` (both from 1) when the text is known, else `offset N`. */
function formatPosition(position: number, sql: string | undefined): string {
  if (sql === undefined) return `offset ${position}`;
  const before = sql.slice(0, position).split("\n");
  const column = (before[before.length - 1] ?? "").length + 1;
  return `${before.length}:${column}`;
}
