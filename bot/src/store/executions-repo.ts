/**
 * Executions in the state store: one row per claim of a request by an agent, its lease and how it
 * ended. Reading them (`findExecution`, `listExecutions`) lives in requests-repo.ts beside the
 * requests they belong to. Writes that end an execution are compare-and-set on its status, so a
 * result racing the sweeper (or a second bot instance) ends it once; nothing here decides
 * whether a transition is allowed.
 */
import type { RequestId } from "@dbward/shared";
import type { Kysely } from "kysely";
import { placeOf, sealNullable, sealValue } from "../crypto/state-cipher.ts";
import type { Tx } from "./in-transaction.ts";
import type { Database, ExecutionsTable } from "./tables.ts";

type Db = Kysely<Database> | Tx;

/** The statuses of schema.sql's `executions.status` check. */
export type ExecutionStatus = "running" | "succeeded" | "failed" | "timed_out" | "lost" | "cancelled";

export interface NewExecution {
  readonly id: string;
  readonly requestId: RequestId;
  readonly number: number;
  readonly agentId: string;
  readonly tokenId: string;
  readonly claimedAt: string;
  readonly leaseExpiresAt: string;
}

/** How a reported result ends an execution (submit-result.ts). */
export interface ExecutionEnd {
  readonly status: ExecutionStatus;
  readonly finishedAt: string;
  readonly durationMs: number;
  readonly rowCount: number | null;
  readonly affectedRows: number | null;
  /** The JSON text of the stored preview rows, or null. */
  readonly resultJson: string | null;
  readonly resultChunks: number | null;
  readonly resultBytes: number | null;
  readonly resultTruncatedBy: ExecutionsTable["result_truncated_by"];
  readonly resultExpiresAt: string | null;
  readonly errorCode: string | null;
  readonly errorMessage: string | null;
}

/** What an agent's late report says of an execution (submit-late-result.ts). */
export interface LateOutcome {
  readonly affectedRows: number | null;
  readonly errorCode: string;
  readonly errorMessage: string;
}

export interface LapsedLease {
  readonly id: string;
  readonly requestId: RequestId;
}

/** Records a won claim as a running execution. */
export async function insertExecution(tx: Tx, e: NewExecution): Promise<void> {
  await tx
    .insertInto("executions")
    .values({
      id: e.id,
      request_id: e.requestId,
      number: e.number,
      agent_id: e.agentId,
      token_id: e.tokenId,
      status: "running",
      claimed_at: e.claimedAt,
      lease_expires_at: e.leaseExpiresAt,
      finished_at: null,
      duration_ms: null,
      row_count: null,
      affected_rows: null,
      result_json: null,
      error_code: null,
      error_message: null,
    })
    .execute();
}

/** Executions claimed after `since` on this database × environment (the execution budget). */
export async function countExecutionsClaimedSince(
  db: Db,
  target: { readonly database: string; readonly environment: string },
  since: string,
): Promise<number> {
  const row = await db
    .selectFrom("executions")
    .innerJoin("requests", "requests.id", "executions.request_id")
    .select((eb) => eb.fn.countAll().as("n"))
    .where("requests.database_name", "=", target.database)
    .where("requests.environment", "=", target.environment)
    .where("executions.claimed_at", ">", since)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Flags the request's running execution for cancellation; the agent hears of it on its next heartbeat. */
export async function flagRunningExecutionCancelled(tx: Tx, requestId: RequestId): Promise<void> {
  await tx
    .updateTable("executions")
    .set({ cancel_requested: 1 })
    .where("request_id", "=", requestId)
    .where("status", "=", "running")
    .execute();
}

/** Sets a running execution's lease (a heartbeat); false when it is no longer running. */
export async function setRunningLease(db: Db, jobId: string, leaseExpiresAt: string): Promise<boolean> {
  const r = await db
    .updateTable("executions")
    .set({ lease_expires_at: leaseExpiresAt })
    .where("id", "=", jobId)
    .where("status", "=", "running")
    .executeTakeFirst();
  return r.numUpdatedRows === 1n;
}

/** Moves a running execution's lease out to `leaseExpiresAt`, never in (progress: a result chunk). */
export async function extendRunningLease(db: Db, jobId: string, leaseExpiresAt: string): Promise<void> {
  await db
    .updateTable("executions")
    .set({ lease_expires_at: leaseExpiresAt })
    .where("id", "=", jobId)
    .where("status", "=", "running")
    .where("lease_expires_at", "<", leaseExpiresAt)
    .execute();
}

/**
 * The result's column names, once, while the execution runs (its chunk 0 brings them): a reader
 * following the result writes its header line from them. Sealed like the preview, which holds
 * them too.
 */
export async function recordResultColumns(db: Db, jobId: string, columns: readonly string[]): Promise<void> {
  await db
    .updateTable("executions")
    .set({
      result_columns: await sealValue(
        db,
        placeOf("executions", "result_columns", jobId),
        JSON.stringify(columns),
      ),
    })
    .where("id", "=", jobId)
    .where("status", "=", "running")
    .where("result_columns", "is", null)
    .execute();
}

/** Running executions whose lease has not run out at `now`, counted per agent. */
export async function countLiveLeasesByAgent(db: Db, now: Date): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom("executions")
    .select(["agent_id", (eb) => eb.fn.countAll().as("n")])
    .where("status", "=", "running")
    .where("lease_expires_at", ">", now.toISOString())
    .groupBy("agent_id")
    .execute();
  return new Map(rows.map((r) => [r.agent_id, Number(r.n)]));
}

/** Running executions whose lease ran out at or before `now` (the sweeper declares them lost). */
export async function listLapsedLeases(db: Db, now: Date): Promise<LapsedLease[]> {
  const rows = await db
    .selectFrom("executions")
    .select(["id", "request_id"])
    .where("status", "=", "running")
    .where("lease_expires_at", "<=", now.toISOString())
    .execute();
  return rows.map((r) => ({ id: r.id, requestId: r.request_id as RequestId }));
}

/**
 * Compare-and-set: a running execution whose lease is still out at `now` becomes lost; false
 * when it ended or was heard from first.
 */
export async function markExecutionLost(tx: Tx, jobId: string, now: Date): Promise<boolean> {
  const r = await tx
    .updateTable("executions")
    .set({ status: "lost", finished_at: now.toISOString() })
    .where("id", "=", jobId)
    .where("status", "=", "running")
    .where("lease_expires_at", "<=", now.toISOString())
    .executeTakeFirst();
  return r.numUpdatedRows === 1n;
}

// Result previews and database error messages can quote row values: sealed in an encrypted store.
const errorPlace = (jobId: string): string => placeOf("executions", "error_message", jobId);

/** Records how the execution ended; the caller has read it as running in this transaction. */
export async function recordExecutionEnd(tx: Tx, jobId: string, end: ExecutionEnd): Promise<void> {
  await tx
    .updateTable("executions")
    .set({
      status: end.status,
      finished_at: end.finishedAt,
      duration_ms: end.durationMs,
      row_count: end.rowCount,
      affected_rows: end.affectedRows,
      result_json: await sealNullable(tx, placeOf("executions", "result_json", jobId), end.resultJson),
      result_chunks: end.resultChunks,
      result_bytes: end.resultBytes,
      result_truncated_by: end.resultTruncatedBy,
      result_expires_at: end.resultExpiresAt,
      error_code: end.errorCode,
      error_message: await sealNullable(tx, errorPlace(jobId), end.errorMessage),
    })
    .where("id", "=", jobId)
    .execute();
}

/** Compare-and-set: a still running execution ends as `status` with what a late report says. */
export async function endRunningExecutionLate(
  tx: Tx,
  jobId: string,
  status: "succeeded" | "lost",
  finishedAt: string,
  late: LateOutcome,
): Promise<void> {
  await tx
    .updateTable("executions")
    .set({
      status,
      finished_at: finishedAt,
      affected_rows: late.affectedRows,
      error_code: late.errorCode,
      error_message: await sealValue(tx, errorPlace(jobId), late.errorMessage),
    })
    .where("id", "=", jobId)
    .where("status", "=", "running")
    .execute();
}

/** Compare-and-set: a lost execution stays lost and now carries what a late report says. */
export async function annotateLostExecution(tx: Tx, jobId: string, late: LateOutcome): Promise<void> {
  await tx
    .updateTable("executions")
    .set({
      affected_rows: late.affectedRows,
      error_code: late.errorCode,
      error_message: await sealValue(tx, errorPlace(jobId), late.errorMessage),
    })
    .where("id", "=", jobId)
    .where("status", "=", "lost")
    .execute();
}
