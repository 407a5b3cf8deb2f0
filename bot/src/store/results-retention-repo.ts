/**
 * Result retention in the state store: which executions' stored rows are past their
 * `result_expires_at`, and marking them purged (the rows themselves live in the result store,
 * bot/src/results/). Marking is compare-and-set on "not purged yet", so two sweeps purge once.
 */
import type { RequestId } from "@dbward/shared";
import type { Kysely } from "kysely";
import type { Tx } from "./in-transaction.ts";
import type { Database } from "./tables.ts";

type Db = Kysely<Database> | Tx;

export interface ExpiredResult {
  /** The execution id, which keys its rows in the result store. */
  readonly id: string;
  readonly requestId: RequestId;
  readonly number: number;
  readonly bytes: number | null;
}

/** At most `limit` results whose retention ran out at or before `now` and are not purged yet, oldest first. */
export async function listExpiredResults(db: Db, now: string, limit: number): Promise<ExpiredResult[]> {
  const rows = await db
    .selectFrom("executions")
    .select(["id", "request_id", "number", "result_bytes"])
    .where("result_expires_at", "<=", now)
    .where("result_purged_at", "is", null)
    .orderBy("result_expires_at")
    .orderBy("id")
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    requestId: r.request_id as RequestId,
    number: r.number,
    bytes: r.result_bytes,
  }));
}

/** Marks the result purged and drops its preview; false when it already was. */
export async function markResultPurged(tx: Tx, executionId: string, now: string): Promise<boolean> {
  const r = await tx
    .updateTable("executions")
    .set({ result_purged_at: now, result_json: null })
    .where("id", "=", executionId)
    .where("result_purged_at", "is", null)
    .executeTakeFirst();
  return r.numUpdatedRows === 1n;
}
