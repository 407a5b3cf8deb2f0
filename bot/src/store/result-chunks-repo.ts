/**
 * Result chunks in the state store (schema.sql `result_chunks`), for the PostgreSQL result store
 * (bot/src/results/postgres-result-store.ts). Each function is one statement, so each is atomic on
 * its own: a chunk is stored whole or not at all, without a transaction around it — and so without
 * the state's write lock (open-postgres-store.ts), which a megabyte upload must not hold while
 * approvals wait on it.
 */
import type { Kysely } from "kysely";
import type { Database } from "./tables.ts";

export interface ResultChunkInfo {
  readonly seq: number;
  readonly rows: number;
  readonly bytes: number;
}

/**
 * Stores chunk `seq` of `key`; the same seq again replaces it (an agent's retry). `bytes`: the
 * chunk's clear length when `data` is sealed (encrypted state).
 */
export async function putResultChunk(
  db: Kysely<Database>,
  key: string,
  seq: number,
  rows: number,
  data: Buffer,
  bytes: number = data.length,
): Promise<void> {
  await db
    .insertInto("result_chunks")
    .values({ result_key: key, seq, rows, bytes, data })
    .onConflict((oc) =>
      oc.columns(["result_key", "seq"]).doUpdateSet((eb) => ({
        rows: eb.ref("excluded.rows"),
        bytes: eb.ref("excluded.bytes"),
        data: eb.ref("excluded.data"),
      })),
    )
    .execute();
}

/** The chunks stored under `key`, by seq, without their bytes. */
export async function listResultChunks(db: Kysely<Database>, key: string): Promise<ResultChunkInfo[]> {
  return db
    .selectFrom("result_chunks")
    .select(["seq", "rows", "bytes"])
    .where("result_key", "=", key)
    .orderBy("seq")
    .execute();
}

/** The bytes of one chunk; undefined when it is not stored. */
export async function readResultChunk(
  db: Kysely<Database>,
  key: string,
  seq: number,
): Promise<Buffer | undefined> {
  const row = await db
    .selectFrom("result_chunks")
    .select("data")
    .where("result_key", "=", key)
    .where("seq", "=", seq)
    .executeTakeFirst();
  return row?.data;
}

/** Deletes every chunk of `key`; none there is fine. */
export async function deleteResultChunks(db: Kysely<Database>, key: string): Promise<void> {
  await db.deleteFrom("result_chunks").where("result_key", "=", key).execute();
}
