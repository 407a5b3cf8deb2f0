/**
 * Fixed checks: findings that explain a class or a refusal. Unlike review rules they cannot be
 * turned off, because each one guards the class itself (a read that is not a read, a text dbward
 * will not run). The names are part of stored reviews: add, never rename.
 */
import type { FindingSeverity, SqlFinding } from "./review.ts";

export const SQL_CHECKS = [
  "empty_sql",
  "nul_byte",
  "invalid_text",
  "too_large",
  "too_many_statements",
  "parse_error",
  "parser_unavailable",
  "ambiguous_text",
  "executable_comment",
  "multiple_statements",
  "settings_only",
  "setting_after_statement",
  "unsafe_setting",
  "rejected_statement",
  "server_file",
  "side_effect_function",
  "writable_cte",
  "select_into",
  "row_lock",
  "variable_assignment",
  "not_a_read",
  "unknown_effect",
  "unverified_call",
  "trusted_function",
] as const;
export type SqlCheck = (typeof SQL_CHECKS)[number];

/** Builds a fixed-check finding; `position` is a character offset into the reviewed text. */
export function checkFinding(
  rule: SqlCheck,
  severity: FindingSeverity,
  message: string,
  extra: { readonly position?: number | undefined; readonly hint?: string | undefined } = {},
): SqlFinding {
  return {
    rule,
    severity,
    message,
    ...(extra.position === undefined ? {} : { position: extra.position }),
    ...(extra.hint === undefined ? {} : { hint: extra.hint }),
  };
}
