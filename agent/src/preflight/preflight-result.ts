/**
 * What the preflight operations take and answer, the same for every engine. A preflight shows
 * approvers a statement's impact before they approve it: its plan (EXPLAIN, never ANALYZE), or
 * for a change the exact number of rows it changes (a dry run, always rolled back).
 */
import { DbwardError, type SqlReviewOptions } from "@dbward/shared";
// Not exported by shared's index yet; the module path is the contract (shared/src/plan-summary.ts).
import type { PlanEngine, PlanSummary } from "../../../shared/src/plan-summary.ts";

export interface ExplainOptions {
  /** Bounds planning on the server (and the client's wait, a little later). */
  readonly statementTimeoutMs: number;
  /** The database × environment's review options, as the job runner reviews with them. */
  readonly reviewOptions?: SqlReviewOptions;
}

export interface ExplainResult {
  readonly engine: PlanEngine;
  /** The plan exactly as the server returned it, parsed from JSON. */
  readonly plan: unknown;
  readonly summary: PlanSummary;
  readonly duration_ms: number;
}

/** How long a dry run waits for a row or table lock another session holds, by default. */
export const DEFAULT_LOCK_TIMEOUT_MS = 2000;

export interface DryRunOptions {
  readonly statementTimeoutMs: number;
  /** How long to wait for a lock held by another session (DEFAULT_LOCK_TIMEOUT_MS). */
  readonly lockTimeoutMs?: number;
  readonly reviewOptions?: SqlReviewOptions;
}

export interface DryRunResult {
  /** Rows the statement changed before it was rolled back, as the database counts them. */
  readonly affected_rows: number;
  readonly duration_ms: number;
}

/** A dry run that gave up waiting for another session's lock: nothing changed, nothing held. */
export function lockTimeoutError(lockTimeoutMs: number): DbwardError {
  return new DbwardError(
    "execution.timeout",
    `the dry run waited more than ${lockTimeoutMs} ms for a lock another session holds, gave up and rolled back; nothing was changed. Try again when the other transaction has ended`,
    { lock_timeout: true },
  );
}

/** Milliseconds since `started` (a `performance.now()` reading), whole. */
export function elapsedMs(started: number): number {
  return Math.round(performance.now() - started);
}
