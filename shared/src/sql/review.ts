/**
 * SQL review: the one place that decides what a SQL text does. The bot runs it when a request is
 * created (for the workflow and the token's operation class); the agent runs it again before it
 * executes, whatever the token says.
 *
 * Fail closed: a text the reviewer is not certain about is never `read`.
 */
import type { OperationClass } from "../operation-class.ts";

export const SQL_DIALECTS = ["postgres", "mysql", "sqlite"] as const;
export type SqlDialect = (typeof SQL_DIALECTS)[number];

/** `rejected`: not run by dbward at all (multi-statement chains, role changes, …). */
export type SqlClass = OperationClass | "rejected";

export const SQL_RISKS = ["low", "medium", "high", "critical", "unknown", "unavailable"] as const;
export type SqlRisk = (typeof SQL_RISKS)[number];

export type FindingSeverity = "block" | "warn";

export interface SqlFinding {
  /** Rule name, e.g. `no_where_delete`, `parse_error`. */
  readonly rule: string;
  readonly severity: FindingSeverity;
  readonly message: string;
  /** Character offset of the statement or clause the finding is about, when known. */
  readonly position?: number;
  /** How to make the statement safer. */
  readonly hint?: string;
}

export interface SqlReview {
  readonly class: SqlClass;
  readonly risk: SqlRisk;
  readonly findings: readonly SqlFinding[];
}
