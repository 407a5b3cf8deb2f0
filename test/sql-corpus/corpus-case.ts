/**
 * The SQL review corpus: statements with the class the reviewer must give them. The unit test
 * (`shared/src/sql/corpus.test.ts`) checks the reviewer against it; the honesty test
 * (`corpus-honesty.test.ts`) runs the read, write and lock cases on real PostgreSQL and MariaDB
 * and checks that each really reads, writes or locks as claimed.
 *
 * Every statement uses the scratch schema: `accounts (id, owner, balance, note)` and
 * `ledger (id, account_id, amount)`, plus `accounts_balance_idx`, `accounts_rich` (a view) and
 * `accounts_extra_seq` (PostgreSQL). The honesty test renames every `accounts…`/`ledger…` name to a
 * unique one; lock names and channels start with `accounts_` so they are renamed too.
 */
import type { SqlClass, SqlDialect } from "../../shared/src/sql/review.ts";

/** What running the statement does, as the honesty test observes it. */
export type Effect =
  /** The rows of accounts or ledger change. */
  | { readonly kind: "rows" }
  /** Tables, columns, indexes, views, sequences, constraints or comments change. */
  | { readonly kind: "schema" }
  /** Another session cannot lock row 1 of accounts (FOR UPDATE NOWAIT fails). */
  | { readonly kind: "row_lock" }
  /** Another session cannot take advisory lock 42 (PostgreSQL) or lock `accounts_lock` (MariaDB). */
  | { readonly kind: "advisory_lock" }
  /** The statement takes at least 150 ms. */
  | { readonly kind: "sleep" }
  /** This query, run in the same session, answers differently afterwards. */
  | { readonly kind: "probe"; readonly sql: string };

export interface CorpusCase {
  readonly dialect: SqlDialect;
  readonly sql: string;
  readonly class: SqlClass;
  /** What the case is about, as a sentence; it names the test. */
  readonly about: string;
  /** For write and DDL cases: what the honesty test checks on the real database. */
  readonly effect?: Effect;
  /** For write and DDL cases without an effect: why the honesty test cannot show one. */
  readonly unprovable?: string;
  /** A finding rule the review must include. */
  readonly rule?: string;
}

type Extra = Partial<Pick<CorpusCase, "rule" | "unprovable" | "effect">>;

export function corpus(dialect: SqlDialect) {
  const make =
    (cls: SqlClass) =>
    (sql: string, about: string, extra: Extra = {}): CorpusCase => ({
      dialect,
      sql,
      class: cls,
      about,
      ...extra,
    });
  return { read: make("read"), write: make("write"), ddl: make("ddl"), rejected: make("rejected") };
}

export const ROWS: Effect = { kind: "rows" };
export const SCHEMA: Effect = { kind: "schema" };
export const ROW_LOCK: Effect = { kind: "row_lock" };
export const ADVISORY_LOCK: Effect = { kind: "advisory_lock" };
export const SLEEP: Effect = { kind: "sleep" };
export function probe(sql: string): Effect {
  return { kind: "probe", sql };
}
