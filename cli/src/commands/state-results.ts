/**
 * Stored result rows for `dbward state migrate`: with SQLite state they are files under the
 * results directory (file-result-store.ts); a bot on PostgreSQL state without `results.dir` reads
 * them from the state's `result_chunks` (postgres-result-store.ts). So every retained result's
 * chunks are copied into the target, one chunk in memory at a time, inside the copy's transaction:
 * all or nothing with the rest. A result whose files are gone (deleted by hand, or a data
 * directory restored without them) is counted and left: it answers 410 result.expired as before.
 * Chunks are copied as stored: sealed ones (encrypted state) stay sealed, under the same AAD and
 * the data keys the copy's state_keys rows carry, so no key is needed to migrate.
 */
import { createFileResultStore } from "@dbward/bot/results/file-result-store";
import { putStoredChunk } from "@dbward/bot/results/postgres-result-store";
import { contiguousChunks } from "@dbward/bot/results/result-store";
import type { Store } from "@dbward/bot/store/open-store";
import { sql } from "kysely";

export interface ResultsCopy {
  readonly results: number;
  readonly chunks: number;
  readonly bytes: number;
  /** Results the state names whose chunk files are not all there. */
  readonly missing: number;
}

export async function copyResultChunks(
  source: Store,
  target: Store,
  resultsDir: string,
): Promise<ResultsCopy> {
  const files = createFileResultStore(resultsDir);
  const held = await sql<{ id: string; chunks: number }>`
    select id, result_chunks as chunks from executions
    where result_chunks is not null and result_purged_at is null order by id`.execute(source);
  let results = 0;
  let chunks = 0;
  let bytes = 0;
  let missing = 0;
  for (const row of held.rows) {
    const listed = await files.listChunks(row.id);
    if (contiguousChunks(listed).count < row.chunks) {
      missing += 1;
      continue;
    }
    let seq = 0;
    for await (const data of files.read(row.id, row.chunks)) {
      const info = listed[seq];
      if (info === undefined) throw new Error(`result ${row.id}: no chunk ${seq}`);
      await putStoredChunk(target, row.id, seq, info, data);
      seq += 1;
      chunks += 1;
      bytes += info.bytes;
    }
    results += 1;
  }
  return { results, chunks, bytes, missing };
}
