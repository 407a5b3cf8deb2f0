/**
 * SQL review: the one place that decides what a SQL text does. The bot runs it when a request is
 * created (for the workflow and the token's operation class); the agent runs it again before it
 * executes, whatever the token says.
 *
 * Fail closed: a text the reviewer is not certain about is never `read`.
 */
import type { OperationClass } from "../operation-class.ts";
import type { RuleSeverities } from "./rules.ts";

export const SQL_DIALECTS = ["postgres", "mysql", "sqlite"] as const;
export type SqlDialect = (typeof SQL_DIALECTS)[number];

/** `rejected`: not run by dbward at all (multi-statement chains, role changes, …). */
export type SqlClass = OperationClass | "rejected";

export const SQL_RISKS = ["low", "medium", "high", "critical", "unknown", "unavailable"] as const;
export type SqlRisk = (typeof SQL_RISKS)[number];

/** `block` findings make the bot refuse the request; `warn` findings are shown to approvers. */
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
  /**
   * The statements of the text, in order, for running them one at a time. Empty when the text is
   * `rejected`, and when the reviewer cannot tell where its statements begin and end: a text no
   * lexer could read, one reviewed before `initSqlReview()`, a PostgreSQL text the parser could
   * not read that holds more than one statement. Run nothing when it is empty. In the default
   * `reject` mode a text that is not rejected has zero or more `session` statements followed by
   * exactly one `main` statement.
   */
  readonly statements: readonly ReviewedStatement[];
  /**
   * The calls the allowlist could not prove free of side effects (`my_func()`, `operator ###`,
   * `type money2`), as written. Non-empty means a person must approve: such a text is never
   * auto-approved, whatever the workflow says. Absent or empty when everything was proven.
   */
  readonly unverifiedCalls?: readonly string[];
  /**
   * The tables the text writes, changes or drops (lower-cased, unqualified), as the risk reads
   * them: what schema context (sizes, cascades) is looked up for. Absent when there are none.
   */
  readonly targets?: readonly string[];
  /**
   * What a read calls, for the agent's check against the real catalogue of its target
   * (`catalog-references.ts`). Present on reviews of class `read` from a parsed text.
   */
  readonly references?: CatalogReferences;
}

/**
 * Every name a read resolves at run time, lower-cased, qualified parts joined by `.` exactly as
 * written (`pg_catalog.lower`, `lower`). The agent looks each one up in the target's catalogue
 * before it runs the read: a name that resolves to anything but the vetted built-in fails.
 */
export interface CatalogReferences {
  readonly functions: readonly string[];
  readonly operators: readonly string[];
  readonly types: readonly string[];
  /**
   * Last parts of qualified column references and field selections (`t.f`, `(t).f`): in
   * PostgreSQL either may be a call `f(t)` when `t` has no column `f`, which text cannot tell.
   */
  readonly fields: readonly string[];
}

/**
 * One statement of a reviewed text. `text === sql.slice(start, end)`: the statement exactly as
 * written, from its first token up to (not including) the semicolon that ends it or the end of
 * the text, without surrounding whitespace. Comments inside the statement, and a comment just
 * before its semicolon, are part of it; comments between a semicolon and the next statement are
 * part of no statement (they cannot change what runs). Run `text` as it is: it may end with a
 * `--` comment, so never append to it.
 */
export interface ReviewedStatement {
  readonly text: string;
  /** UTF-16 offset of the statement's first character in the reviewed text. */
  readonly start: number;
  /** UTF-16 offset just past its last character. */
  readonly end: number;
  /** `session`: an allowed session setting (`SET statement_timeout = …`); `main`: anything else. */
  readonly kind: "session" | "main";
}

/**
 * Facts about the target schema that may raise the risk of a statement, from the agent's schema
 * context (bot/src/core/plan-request.ts): large tables, and tables whose changes cascade into one.
 */
export interface SchemaRiskFactors {
  /** Lower-case table names (unqualified) known to be large; writes and DDL on them climb a level. */
  readonly largeTables?: ReadonlySet<string>;
}

/** How a review is tuned for one database × environment. Every field is optional. */
export interface SqlReviewOptions {
  /** Severity per review rule; a rule left out keeps its default (`DEFAULT_RULE_SEVERITIES`). */
  readonly rules?: RuleSeverities;
  /**
   * `reject` (default): a text may hold safe session `SET`s followed by one statement, nothing
   * more. `allow`: several statements are reviewed together (e.g. a migration); the class is the
   * strictest of them.
   */
  readonly multipleStatements?: "reject" | "allow";
  /**
   * Further function names to treat as having side effects, even where the built-in allowlist
   * would accept them (last name part, any case).
   */
  readonly sideEffectFunctions?: readonly string[];
  /**
   * Functions of the database's own schemas declared free of side effects for this database ×
   * environment, as `schema.name` (lower case). A call counts as trusted only when written with
   * that schema; a name in a never-a-read category can never be trusted (`never-a-read.ts`).
   */
  readonly trustedFunctions?: readonly string[];
  /** Ceilings for session settings that take memory; the defaults in `safe-settings.ts` otherwise. */
  readonly settingCeilings?: SettingCeilings;
  readonly schema?: SchemaRiskFactors;
}

/** Upper bounds on what a `SET` before the statement may ask for. */
export interface SettingCeilings {
  /** Bytes: work_mem, maintenance_work_mem, temp_buffers; MySQL's per-session buffers. */
  readonly memoryBytes: number;
  /** PostgreSQL's hash_mem_multiplier. */
  readonly hashMemMultiplier: number;
  /**
   * PostgreSQL's max_parallel_workers_per_gather and max_parallel_maintenance_workers: each
   * worker gets its own work_mem, so the memory ceiling holds per worker and node.
   */
  readonly parallelWorkers: number;
}
