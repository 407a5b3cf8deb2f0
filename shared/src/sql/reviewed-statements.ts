/**
 * The statements a review reports (`SqlReview.statements`), so that the agent can run a text one
 * statement per driver call without splitting it again. The dialect reviewers find each
 * statement's span with the same machinery that decided its class (libpg-query's statement
 * positions, the MySQL/SQLite lexer's split); here the spans become the reported statements.
 */
import type { ReviewedStatement } from "./review.ts";
import type { StatementVerdict, TextSpan } from "./statement-verdict.ts";

/**
 * SQL whitespace: the characters both PostgreSQL's and the MySQL/SQLite lexer skip between
 * tokens. Not `String.prototype.trim`, which also strips characters (NBSP, U+2028, BOM) that
 * PostgreSQL and MySQL read as part of an identifier.
 */
const SQL_SPACE = new Set([" ", "\t", "\n", "\r", "\v", "\f"]);

/** `[start, end)` of `sql` without leading and trailing SQL whitespace. */
export function trimmedSpan(sql: string, start: number, end: number): TextSpan {
  let from = Math.max(0, start);
  let to = Math.min(sql.length, end);
  while (from < to && SQL_SPACE.has(sql[from] ?? "")) from += 1;
  while (to > from && SQL_SPACE.has(sql[to - 1] ?? "")) to -= 1;
  return { start: from, end: to };
}

/**
 * The statements of a review that is not `rejected`, or none when any statement's span is unknown
 * (or, which never happens, empty or out of order): a text that cannot be split with certainty
 * is not run piecemeal.
 */
export function reviewedStatements(
  sql: string,
  verdicts: readonly StatementVerdict[],
): readonly ReviewedStatement[] {
  const statements: ReviewedStatement[] = [];
  let previousEnd = 0;
  for (const verdict of verdicts) {
    const span = verdict.span;
    // Unknown, empty, out of order or overlapping: never expected, and never guessed at.
    if (span === undefined || span.end <= span.start || span.start < previousEnd) return [];
    previousEnd = span.end;
    statements.push({
      text: sql.slice(span.start, span.end),
      start: span.start,
      end: span.end,
      kind: verdict.class === "session" ? "session" : "main",
    });
  }
  return statements;
}
