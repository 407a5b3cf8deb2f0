/**
 * Review rules: checks on statements that dbward can run but that deserve a second look. Each rule
 * is `block` (the bot refuses the request), `warn` (approvers see it) or `off`, per database ×
 * environment. The names are part of the config format and of stored reviews: add, never rename.
 */
import type { SqlFinding, SqlRisk } from "./review.ts";

export const SQL_REVIEW_RULES = [
  "no_where_delete",
  "no_where_update",
  "drop_table",
  "truncate",
  "drop_column",
  "not_null_without_default",
  "create_index_not_concurrently",
  "alter_column_type",
  "mixed_ddl_dml",
  "large_in_list",
  "drop_index",
  "drop_view",
  "drop_sequence",
  "create_sequence",
  "cascade",
  "invisible_characters",
] as const;
export type SqlReviewRule = (typeof SQL_REVIEW_RULES)[number];

export const RULE_SEVERITIES = ["block", "warn", "off"] as const;
export type RuleSeverity = (typeof RULE_SEVERITIES)[number];

export type RuleSeverities = Readonly<Partial<Record<SqlReviewRule, RuleSeverity>>>;

export function isSqlReviewRule(value: unknown): value is SqlReviewRule {
  return typeof value === "string" && (SQL_REVIEW_RULES as readonly string[]).includes(value);
}

export function isRuleSeverity(value: unknown): value is RuleSeverity {
  return typeof value === "string" && (RULE_SEVERITIES as readonly string[]).includes(value);
}

/** The four rules that lose data or a table without a second thought block; the rest warn. */
export const DEFAULT_RULE_SEVERITIES: Readonly<Record<SqlReviewRule, RuleSeverity>> = Object.freeze({
  no_where_delete: "block",
  no_where_update: "block",
  drop_table: "block",
  truncate: "block",
  drop_column: "warn",
  not_null_without_default: "warn",
  create_index_not_concurrently: "warn",
  alter_column_type: "warn",
  mixed_ddl_dml: "warn",
  large_in_list: "warn",
  drop_index: "warn",
  drop_view: "warn",
  drop_sequence: "warn",
  create_sequence: "warn",
  cascade: "warn",
  // The bot raises it to block in production environments (bot/src/core/sql-review-policy.ts).
  invisible_characters: "warn",
});

interface RuleText {
  readonly message: string;
  readonly hint: string;
  /** The least risk a statement that trips the rule carries, whatever the rule's severity. */
  readonly risk: Exclude<SqlRisk, "unknown" | "unavailable">;
}

/** One-line message and hint per rule, shown in Slack, the CLI and webhooks. */
export const RULE_TEXT: Readonly<Record<SqlReviewRule, RuleText>> = Object.freeze({
  no_where_delete: {
    message: "DELETE without a WHERE clause removes every row",
    hint: "add a WHERE clause; to empty a table on purpose, say so in the reason and ask for break-glass",
    risk: "critical",
  },
  no_where_update: {
    message: "UPDATE without a WHERE clause changes every row",
    hint: "add a WHERE clause that names the rows to change",
    risk: "critical",
  },
  drop_table: {
    message: "DROP TABLE deletes the table and its data",
    hint: "rename the table first and drop it in a later change, once nothing uses it",
    risk: "high",
  },
  truncate: {
    message: "TRUNCATE removes every row at once",
    hint: "use DELETE … WHERE for a subset, or ask for break-glass to empty the table",
    risk: "high",
  },
  drop_column: {
    message: "dropping a column deletes its data",
    hint: "stop reading and writing the column first; drop it in a later change",
    risk: "high",
  },
  not_null_without_default: {
    message: "a NOT NULL column without a DEFAULT fails on a table with rows",
    hint: "add the column nullable or with a DEFAULT, backfill, then set NOT NULL",
    risk: "medium",
  },
  create_index_not_concurrently: {
    message: "CREATE INDEX without CONCURRENTLY blocks writes to the table while it builds",
    hint: "use CREATE INDEX CONCURRENTLY (outside a transaction)",
    risk: "medium",
  },
  alter_column_type: {
    message: "changing a column's type may rewrite the table under an exclusive lock",
    hint: "add a new column, backfill it, then switch over",
    risk: "high",
  },
  mixed_ddl_dml: {
    message: "the text mixes schema changes with data changes",
    hint: "send schema changes and data changes as separate requests",
    risk: "high",
  },
  large_in_list: {
    message: "IN list with more than 100 values",
    hint: "load the values into a temporary table and join, or split the statement",
    risk: "medium",
  },
  drop_index: {
    message: "dropping an index can slow the queries that use it",
    hint: "check the index is unused (pg_stat_user_indexes, sys.schema_unused_indexes) first",
    risk: "high",
  },
  drop_view: {
    message: "dropping a view breaks the queries that read it",
    hint: "check that nothing reads the view first",
    risk: "high",
  },
  drop_sequence: {
    message: "dropping a sequence breaks the columns that draw from it",
    hint: "check that no column default uses the sequence first",
    risk: "high",
  },
  create_sequence: {
    message: "creates a sequence",
    hint: "prefer an identity column, which keeps the sequence with its table",
    risk: "low",
  },
  cascade: {
    message: "CASCADE also drops or empties objects that depend on this one",
    hint: "drop the dependent objects explicitly, so the request shows everything it removes",
    risk: "critical",
  },
  invisible_characters: {
    message: "the text holds characters that do not show, or that change how the text around them shows",
    hint: "remove them, or write such a character as an escape (PostgreSQL U&'\\200B', MySQL X'E2808B'); dbward shows each as ⟨U+…⟩",
    risk: "high",
  },
});

/** A rule tripped by a statement, before the configured severity is applied. */
export interface RuleHit {
  readonly rule: SqlReviewRule;
  readonly position?: number;
  /** Extra words for the message, e.g. the table name. */
  readonly detail?: string;
}

/**
 * Applies the configured severity: `off` hides the hit, the others become findings. A severity
 * that is not one of RULE_SEVERITIES (a config that skipped validation) counts as `block`.
 */
export function findingForHit(hit: RuleHit, severities: RuleSeverities | undefined): SqlFinding | undefined {
  const configured: unknown = severities?.[hit.rule];
  const severity =
    configured === undefined
      ? DEFAULT_RULE_SEVERITIES[hit.rule]
      : isRuleSeverity(configured)
        ? configured
        : "block";
  if (severity === "off") return undefined;
  const text = RULE_TEXT[hit.rule];
  const message = hit.detail === undefined ? text.message : `${text.message} (${hit.detail})`;
  return {
    rule: hit.rule,
    severity,
    message,
    hint: text.hint,
    ...(hit.position === undefined ? {} : { position: hit.position }),
  };
}
