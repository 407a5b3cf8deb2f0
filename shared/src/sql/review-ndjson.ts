/**
 * `dbward review --ndjson`: one JSON object per input line, one answer per output line, in order.
 * A bad line gets an error object on its own output line instead of ending the run, so a batch of
 * thousands of statements is never lost to one typo. The answer's shape is part of the CLI's
 * contract: `{"class","risk","findings"}` or `{"error":{"code","message"}}`.
 */
import { isAstObject } from "./ast-walk.ts";
import type { ErrorCode } from "../errors.ts";
import { reviewSql } from "./review-sql.ts";
import type { SqlDialect, SqlReviewOptions } from "./review.ts";

/** Reviews the `sql` field of one NDJSON line and answers one JSON line (no newline). */
export function reviewNdjsonLine(line: string, dialect: SqlDialect, options: SqlReviewOptions = {}): string {
  let input: unknown;
  try {
    input = JSON.parse(line);
  } catch (error) {
    return errorLine(`the line is not JSON: ${error instanceof Error ? error.message : "parse error"}`);
  }
  if (!isAstObject(input)) return errorLine('each line must be a JSON object such as {"sql":"SELECT 1"}');
  const sql = input["sql"];
  if (typeof sql !== "string") return errorLine('the object has no string field "sql"');
  const review = reviewSql(sql, dialect, options);
  return JSON.stringify({ class: review.class, risk: review.risk, findings: review.findings });
}

function errorLine(message: string): string {
  const code: ErrorCode = "request.invalid";
  return JSON.stringify({ error: { code, message } });
}
