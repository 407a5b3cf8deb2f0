/**
 * Guards that run before any parser sees the text: they bound the work a request can cause and
 * refuse bytes no SQL needs. T-FLOOD: the bot's 100 KB body limit is the first bound; these hold
 * for every caller of `reviewSql`, the agent included.
 */
import { checkFinding } from "./checks.ts";
import type { SqlFinding, SqlReview } from "./review.ts";

/** 1 MiB of UTF-8. */
export const MAX_SQL_BYTES = 1024 * 1024;
export const MAX_STATEMENTS = 100;

// With the `u` flag a surrogate pair is one code point, so this matches only unpaired halves.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** The first reason the text cannot be reviewed at all, or undefined when it may be parsed. */
export function guardText(sql: string): SqlFinding | undefined {
  if (sql.trim() === "") {
    return checkFinding("empty_sql", "block", "the SQL text is empty", {
      hint: "send the statement to run",
    });
  }
  if (Buffer.byteLength(sql, "utf8") > MAX_SQL_BYTES) {
    return checkFinding("too_large", "block", `the SQL text is larger than ${MAX_SQL_BYTES} bytes`, {
      hint: "split the change into smaller requests",
    });
  }
  const nul = sql.indexOf("\0");
  if (nul >= 0) {
    return checkFinding("nul_byte", "block", "the SQL text contains a NUL byte", {
      position: nul,
      hint: "remove the NUL character; SQL text never needs one",
    });
  }
  // A lone surrogate becomes U+FFFD on the way to the database, so the text that would run is
  // not the text that was reviewed and hashed.
  if (LONE_SURROGATE.test(sql)) {
    return checkFinding("invalid_text", "block", "the SQL text is not valid Unicode", {
      hint: "send the text as valid UTF-8",
    });
  }
  return undefined;
}

export function tooManyStatements(count: number): SqlFinding | undefined {
  if (count <= MAX_STATEMENTS) return undefined;
  return checkFinding(
    "too_many_statements",
    "block",
    `the SQL text holds ${count} statements; at most ${MAX_STATEMENTS} are reviewed`,
    { hint: "split the change into smaller requests" },
  );
}

/** The review of a text dbward will not run: no statements to run either. */
export function rejectedReview(findings: readonly SqlFinding[]): SqlReview {
  return { class: "rejected", risk: "critical", findings, statements: [] };
}

/**
 * The review of a text no parser could read: a write that needs approval, never a read
 * (SECURITY.md, fail closed), with the risk marked as not assessed. Where its statements begin
 * and end is not known either, so it has none to run.
 */
export function unparsedReview(findings: readonly SqlFinding[], cls: "write" | "ddl" = "write"): SqlReview {
  return { class: cls, risk: "unavailable", findings, statements: [] };
}
