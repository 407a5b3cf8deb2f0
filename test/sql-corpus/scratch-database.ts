/**
 * What the honesty test needs from a real database: a scratch schema under unique names, one
 * session that runs corpus statements inside a transaction it rolls back, and a second session
 * that looks at locks from outside.
 */
import { randomBytes } from "node:crypto";

export interface ScratchDatabase {
  readonly name: string;
  /** Renames every `accounts…`/`ledger…` name in a corpus statement to this run's scratch name. */
  rename(sql: string): string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Runs `body` inside a transaction on the main session and rolls it back. `ddl`: the statement
   * may commit by itself (MariaDB), so the scratch schema is rebuilt afterwards.
   */
  inTransaction(ddl: boolean, body: (session: ScratchSession) => Promise<void>): Promise<void>;
}

export interface ScratchSession {
  run(sql: string): Promise<void>;
  /** The first column of the first row, as text. */
  value(sql: string): Promise<string>;
  /** Every row of accounts and ledger, as text. */
  rows(): Promise<string>;
  /** Every scratch table, view, sequence, column, index, constraint and comment, as text. */
  schema(): Promise<string>;
  /** Whether the second session fails to lock row 1 of accounts at once. */
  rowLockedElsewhere(): Promise<boolean>;
  /** Whether the second session fails to take this run's advisory lock. */
  advisoryLockedElsewhere(): Promise<boolean>;
  /** PostgreSQL: whether the transaction has a transaction id (it wrote); undefined elsewhere. */
  xidAssigned(): Promise<boolean | undefined>;
}

/** A suffix no other run shares: process id and random bytes. */
export function scratchSuffix(): string {
  return `dbw${process.pid}_${randomBytes(3).toString("hex")}`;
}

/** `accounts` → `accounts_<suffix>`, `ledger_old` → `ledger_<suffix>_old`, in any case. */
export function renameScratch(sql: string, suffix: string): string {
  return sql.replace(/\b(accounts|ledger)/gi, (name) => `${name.toLowerCase()}_${suffix}`);
}

/** The seed rows, the same on both servers. */
export const SEED_ACCOUNTS = "('ann', 100, 'vip'), ('bob', 50, NULL), ('cy', 0, 'closed')";
export const SEED_LEDGER = "(1, 10), (2, -5), (1, 3)";
