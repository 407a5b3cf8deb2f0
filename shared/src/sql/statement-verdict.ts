/**
 * What a dialect reviewer says about one statement, before the statements of a text are
 * combined. Both dialect reviewers produce this shape, so the multi-statement policy, severities
 * and risk are decided once, in `combine-verdicts.ts`.
 */
import type { RuleHit } from "./rules.ts";
import type { CatalogReferences, SqlClass, SqlFinding } from "./review.ts";

/** A statement's text as `[start, end)` UTF-16 offsets into the reviewed text. */
export interface TextSpan {
  readonly start: number;
  readonly end: number;
}

/** `session`: an allowed session setting (`SET statement_timeout = …`), allowed only before a statement. */
export type StatementClass = SqlClass | "session";

export interface StatementVerdict {
  readonly class: StatementClass;
  /** Character offset of the statement in the reviewed text. */
  readonly position: number;
  /**
   * Where the statement's text is (`reviewed-statements.ts`), or undefined when the reviewer
   * cannot tell; one undefined span leaves the review with no statements to run.
   */
  readonly span: TextSpan | undefined;
  /** Fixed-check findings: why the class is what it is, or why the statement is rejected. */
  readonly notes: readonly SqlFinding[];
  readonly hits: readonly RuleHit[];
  /** CALL, DO, EXECUTE: what actually runs is not in the text, so risk cannot be assessed. */
  readonly effectUnknown: boolean;
  /** Lower-case unqualified names of the tables the statement writes or alters. */
  readonly targets: readonly string[];
  /** Calls the allowlist could not prove, as written; absent when there are none. */
  readonly unverified?: readonly string[];
  /** What a read resolves at run time (parsed reads only). */
  readonly references?: CatalogReferences;
}

const CLASS_ORDER: Readonly<Record<SqlClass, number>> = { read: 0, write: 1, ddl: 2, rejected: 3 };

/** The stricter of two classes: read < write < ddl < rejected. */
export function stricterClass(a: SqlClass, b: SqlClass): SqlClass {
  return CLASS_ORDER[a] >= CLASS_ORDER[b] ? a : b;
}

/** What the effects check of a query found, as both dialects report it. */
export interface QueryEffects {
  readonly notes: readonly SqlFinding[];
  readonly unverified: readonly string[];
  readonly references: CatalogReferences;
}

/**
 * The class of a query that runs: `cls` as its effects decided it, unknown in effect when a call
 * could not be proven, with the names it resolves when it is a read (for the agent's check).
 */
export function queryStatementClass(cls: StatementClass, effects: QueryEffects) {
  return {
    class: cls,
    notes: effects.notes,
    effectUnknown: effects.unverified.length > 0,
    executes: true,
    unverified: effects.unverified,
    ...(cls === "read" ? { references: effects.references } : {}),
  };
}
