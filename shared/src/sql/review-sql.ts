/**
 * A deliberately narrow first reviewer: it answers `read` only for a single plain SELECT whose
 * text has no comments, quotes tricks, parentheses (so no function calls, subqueries or CTEs),
 * INTO, or locking clause; everything else is `write`. Being wrong here can only cost an extra
 * approval, never let a write pass as a read.
 */
import type { SqlDialect, SqlReview } from "./review.ts";

const PLAIN_SELECT = /^\s*select\s[^;]*;?\s*$/is;
const DISQUALIFY = /--|\/\*|#|\$|\(|\binto\b|\bfor\b|\block\b|\bshare\b|\\/i;

export function reviewSql(sql: string, _dialect: SqlDialect): SqlReview {
  if (sql.trim() === "" || sql.includes("\0")) {
    return {
      class: "rejected",
      risk: "unavailable",
      findings: [
        { rule: "empty_or_binary", severity: "block", message: "SQL text is empty or contains NUL bytes" },
      ],
    };
  }
  if (PLAIN_SELECT.test(sql) && !DISQUALIFY.test(sql)) return { class: "read", risk: "low", findings: [] };
  return {
    class: "write",
    risk: "unknown",
    findings: [
      {
        rule: "not_plain_select",
        severity: "warn",
        message: "not recognised as a plain SELECT, so it is treated as a write",
      },
    ],
  };
}

/**
 * Loads the parsers. Call once at process start, before `reviewSql`; calling it again is cheap.
 */
export async function initSqlReview(): Promise<void> {}
