/**
 * `dbward state encrypt`: seals the values an encrypted store still holds in the clear because
 * they were written before DBWARD_STATE_KEY was set (those are read as they are until then). Each
 * value is sealed under the same place (table, column, row) the repositories use, and written
 * with a compare-and-set on the clear value, so a change made meanwhile is never overwritten.
 * Idempotent: a sealed value is left alone, and a second run finds nothing to do.
 *
 * Updating a row does not erase its old bytes from a SQLite file (free pages, the WAL): the
 * command then rewrites the file (VACUUM) and truncates the WAL, which is why the bot must be
 * stopped for it. PostgreSQL keeps dead row versions until VACUUM too; run `VACUUM FULL` on the
 * listed tables afterwards to drop them.
 */
import { sql } from "kysely";
import { storeEngine } from "../store/open-state-store.ts";
import type { Store } from "../store/open-store.ts";
import { sealClearChunkFiles } from "../results/file-result-store.ts";
import { kekFromEnvironment } from "./key-encryption-key.ts";
import { isSealedBytes, SEALED_TEXT_PREFIX } from "./sealed-value.ts";
import { placeOf, stateCipherOf } from "./state-cipher.ts";
import { markAllSealed, unlockStateStore } from "./unlock-state-store.ts";

/** Every sealed text column, with the key columns that name its row in the AAD. */
export const SEALED_COLUMNS = [
  {
    table: "requests",
    keys: ["id"],
    columns: ["sql_text", "reason", "review_json", "break_glass_reason", "status_reason"],
  },
  { table: "approvals", keys: ["request_id", "step", "approver"], columns: ["comment"] },
  { table: "executions", keys: ["id"], columns: ["result_json", "error_message", "result_columns"] },
  { table: "preflights", keys: ["id"], columns: ["plan_json", "error_message"] },
  { table: "slack_outbox", keys: ["id"], columns: ["delivery"] },
  { table: "join_requests", keys: ["id"], columns: ["reason", "decision_reason"] },
  { table: "step_up_challenges", keys: ["id"], columns: ["decision_json"] },
] as const;

export interface SealSummary {
  /** Values sealed, per `table.column`. */
  readonly values: Readonly<Record<string, number>>;
  /** Result chunks sealed in result_chunks (PostgreSQL state). */
  readonly chunks: number;
  /** Result chunk files sealed under the results directory. */
  readonly files: number;
}

/**
 * The whole pass over an opened, writable store (the bot stopped): unlocked with the environment's
 * key (a store never started with one gets its data key now), every clear value and result chunk
 * sealed, the chunk files under `resultsDir` too, then a SQLite file compacted.
 */
export async function encryptClearState(
  opened: Store,
  env: Readonly<Record<string, string | undefined>>,
  resultsDir: string | undefined,
  now: Date,
): Promise<SealSummary> {
  const kek = kekFromEnvironment(env);
  if (kek.current === undefined)
    throw new Error(
      "state.key_missing: set DBWARD_STATE_KEY (or DBWARD_STATE_KEY_FILE) to the state key to encrypt with",
    );
  const store = await unlockStateStore(opened, kek, now);
  const sealed = await sealClearValues(store);
  const files = resultsDir === undefined ? 0 : await sealClearChunkFiles(resultsDir, store);
  // Nothing is left in the clear: from now on a clear value is a downgrade and is refused.
  await markAllSealed(store, kek.current, now);
  await compactSqliteStore(store);
  return { ...sealed, files };
}

const BATCH = 500;

export async function sealClearValues(store: Store): Promise<Omit<SealSummary, "files">> {
  const cipher = stateCipherOf(store);
  if (cipher === undefined)
    throw new Error("state.key_missing: set DBWARD_STATE_KEY: there is no key to seal the clear values with");
  const values: Record<string, number> = {};
  for (const { table, keys, columns } of SEALED_COLUMNS)
    for (const column of columns) values[`${table}.${column}`] = await sealColumn(store, table, keys, column);
  return { values, chunks: await sealResultChunks(store) };
}

async function sealColumn(
  store: Store,
  table: string,
  keys: readonly string[],
  column: string,
): Promise<number> {
  const cipher = stateCipherOf(store);
  if (cipher === undefined) return 0;
  let sealed = 0;
  for (;;) {
    // Sealed values start with the prefix; everything else (not null) was written in the clear.
    const rows = await sql<Record<string, string | number>>`
      select ${sql.join(keys.map((k) => sql.ref(k)))}, ${sql.ref(column)} as v from ${sql.table(table)}
      where ${sql.ref(column)} is not null and substr(${sql.ref(column)}, 1, ${SEALED_TEXT_PREFIX.length}) <> ${SEALED_TEXT_PREFIX}
      limit ${BATCH}`.execute(store);
    if (rows.rows.length === 0) return sealed;
    const done = await store.transaction().execute(async (tx) => {
      let n = 0;
      for (const row of rows.rows) {
        const clear = String(row.v);
        const rowId = keys.map((k) => String(row[k])).join("/");
        const value = cipher.sealText(placeOf(table, column, rowId), clear);
        const where = sql.join(
          keys.map((k) => sql`${sql.ref(k)} = ${row[k]}`),
          sql` and `,
        );
        const r = await sql`update ${sql.table(table)} set ${sql.ref(column)} = ${value}
          where ${where} and ${sql.ref(column)} = ${clear}`.execute(tx);
        n += Number(r.numAffectedRows ?? 0n);
      }
      return n;
    });
    // Nothing sealed from a batch of clear values: something else holds them; stop, not spin.
    if (done === 0) throw new Error(`${table}.${column}: clear values were found but none could be sealed`);
    sealed += done;
  }
}

/** Result chunks in result_chunks (PostgreSQL state), one at a time: up to 4 MiB each. */
async function sealResultChunks(store: Store): Promise<number> {
  const cipher = stateCipherOf(store);
  if (cipher === undefined || storeEngine(store) !== "postgres") return 0;
  const listed = await store
    .selectFrom("result_chunks")
    .select(["result_key", "seq"])
    .orderBy("result_key")
    .orderBy("seq")
    .execute();
  let sealed = 0;
  for (const { result_key: key, seq } of listed) {
    const row = await store
      .selectFrom("result_chunks")
      .select("data")
      .where("result_key", "=", key)
      .where("seq", "=", seq)
      .executeTakeFirst();
    if (row === undefined || isSealedBytes(row.data)) continue;
    await store
      .updateTable("result_chunks")
      .set({ data: cipher.sealBytes(placeOf("results", key, seq), row.data) })
      .where("result_key", "=", key)
      .where("seq", "=", seq)
      .where("data", "=", row.data)
      .execute();
    sealed += 1;
  }
  return sealed;
}

/** SQLite: rewrites the file without the clear bytes the updates left in free pages and the WAL. */
export async function compactSqliteStore(store: Store): Promise<void> {
  if (storeEngine(store) !== "sqlite") return;
  await sql`vacuum`.execute(store);
  await sql`pragma wal_checkpoint(TRUNCATE)`.execute(store);
}
