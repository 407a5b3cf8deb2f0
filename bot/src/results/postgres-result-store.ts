/**
 * The result store when the state is on PostgreSQL: one `result_chunks` row per chunk
 * (store/result-chunks-repo.ts), so every bot instance on that database reads what any of them
 * stored and no shared file system is needed (the file store stays SQLite's).
 *
 * Storing a chunk is one upsert, atomic by itself: the row is there whole or not at all, and a
 * retried seq replaces its first copy. It runs on a pooled connection outside any transaction,
 * so it never takes the state's write lock: a megabyte upload does not hold up approvals, and a
 * bot killed mid-upload leaves no half chunk. Reading fetches one chunk per query, when the
 * consumer asks for it, so memory stays at one chunk (at most MAX_RESULT_CHUNK_BYTES) whatever
 * the result's size. A committed statement is already durable (PostgreSQL's `synchronous_commit`,
 * on by default), so `seal` has nothing left to do. With the state encrypted, each row's data is
 * one sealed record (crypto/state-cipher.ts) under the same AAD as a chunk file, and `bytes` stays
 * the clear length.
 */
import type { Kysely } from "kysely";
import {
  deleteResultChunks,
  listResultChunks,
  putResultChunk,
  readResultChunk,
} from "../store/result-chunks-repo.ts";
import type { Database } from "../store/tables.ts";
import { openChunk, sealChunk } from "../crypto/state-cipher.ts";
import { chunkPlace } from "./file-result-store.ts";
import type { ResultStore } from "./result-store.ts";

export function createPostgresResultStore(db: Kysely<Database>): ResultStore {
  return {
    putChunk: async (key, seq, rows, ndjson) =>
      putResultChunk(db, key, seq, rows, await sealChunk(db, chunkPlace(key, seq), ndjson), ndjson.length),
    listChunks: (key) => listResultChunks(db, key),
    async *read(key, count, from = 0) {
      for (let seq = from; seq < count; seq += 1) {
        const chunk = await readResultChunk(db, key, seq);
        if (chunk === undefined) throw new Error(`result ${key} has no chunk ${seq}`);
        yield openChunk(db, chunkPlace(key, seq), chunk);
      }
    },
    seal: async () => undefined,
    remove: (key) => deleteResultChunks(db, key),
  };
}

/**
 * Puts a chunk's stored bytes as they are, sealed or clear (`dbward state migrate` copying the
 * files of an encrypted store: the AAD is the same, and the copied state_keys open them).
 */
export async function putStoredChunk(
  db: Kysely<Database>,
  key: string,
  seq: number,
  info: { readonly rows: number; readonly bytes: number },
  stored: Buffer,
): Promise<void> {
  await putResultChunk(db, key, seq, info.rows, stored, info.bytes);
}
