/**
 * What the allowlist check of a query found, kept the same way for every dialect: one finding
 * per name, whether anything makes the query not a read, the calls that could not be proven, and
 * the judging order for a function call (never-a-read, configured side effect, vetted built-in,
 * trusted by config, else unproven).
 */
import { configuredSideEffectNote, neverAReadNote, trustedNote, unverifiedNote } from "./call-findings.ts";
import { displaySql } from "./display-sql.ts";
import { isConfiguredSideEffect, neverAReadCategory } from "./never-a-read.ts";
import type { CatalogReferences, SqlDialect, SqlFinding } from "./review.ts";

/** The result of a dialect's allowlist check of one query. */
export interface CallCheck {
  /** Never-a-read, unverified and trusted calls, one finding per name. */
  readonly notes: readonly SqlFinding[];
  /** Whether a note makes the query something other than a read. */
  readonly notARead: boolean;
  /** What could not be proven, as written (`my_func()`, `operator ###`). */
  readonly unverified: readonly string[];
  /** Calls known to have side effects (`pg_sleep()`, or listed by the database's config). */
  readonly effects: readonly string[];
  readonly references: CatalogReferences;
}

/** What judging a function call needs from the review options. */
export interface CallJudging {
  readonly dialect: SqlDialect;
  readonly extraFunctions: readonly string[];
  /** `schema.name` of functions trusted by config for this database × environment. */
  readonly trustedFunctions: readonly string[];
}

/** A function call as the dialect's walk saw it. */
export interface FunctionCall {
  /** Its name as written, qualified parts joined by `.`. */
  readonly name: string;
  /** How many name parts it has (1 unqualified, 2 schema-qualified, …). */
  readonly parts: number;
  readonly argumentCount: number;
  /** Whether the dialect's allowlist proves it a side-effect-free built-in as written. */
  readonly builtin: boolean;
  /** Why it is not proven, for the finding (asked only when it is not). */
  readonly reason: () => string;
  readonly position: number | undefined;
}

export class CallLedger {
  private readonly notes: SqlFinding[] = [];
  private readonly seen = new Set<string>();
  private readonly unverified: string[] = [];
  private readonly effects: string[] = [];
  private notARead = false;

  constructor(private readonly judging: CallJudging) {}

  /** Judges one function call, in the order the module comment gives. */
  func(call: FunctionCall): void {
    const { name, position } = call;
    const category = neverAReadCategory(this.judging.dialect, name, call.argumentCount);
    if (category !== undefined) return this.effect(name, neverAReadNote(name, category, position));
    if (isConfiguredSideEffect(name, this.judging.extraFunctions)) {
      return this.effect(name, configuredSideEffectNote(name, position));
    }
    if (call.builtin) return;
    if (call.parts === 2 && this.judging.trustedFunctions.includes(name)) {
      if (!this.seen.has(name)) this.notes.push(trustedNote(name, position));
      this.seen.add(name);
      return;
    }
    this.unproven(`${name}()`, call.reason(), position);
  }

  /** Something the allowlist cannot prove: `what` names it, `why` says what it is. */
  unproven(what: string, why: string, position: number | undefined): void {
    // The list is for people (the approver, the agent's refusal): invisible characters escaped.
    if (!this.seen.has(what)) this.unverified.push(displaySql(what));
    this.refuse(what, unverifiedNote(what, why, position));
  }

  /** A call known to have side effects. */
  private effect(name: string, note: SqlFinding): void {
    if (!this.seen.has(name)) this.effects.push(displaySql(`${name}()`));
    this.refuse(name, note);
  }

  /** A finding that makes the query not a read, recorded once per key. */
  refuse(key: string, note: SqlFinding): void {
    this.notARead = true;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.notes.push(note);
  }

  result(references: CatalogReferences): CallCheck {
    return {
      notes: this.notes,
      notARead: this.notARead,
      unverified: this.unverified,
      effects: this.effects,
      references,
    };
  }
}
