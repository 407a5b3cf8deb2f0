/**
 * Where result rows live: behind this interface, so an object store can replace the files. A
 * result is a sequence of NDJSON chunks under a key (the execution id), numbered from 0 as the
 * agent sent them. Storing a chunk is atomic (whole or not at all) and idempotent (the same seq
 * again replaces it with the same bytes), which is what lets an agent retry a chunk whose answer
 * it never saw.
 */
export interface StoredChunk {
  readonly seq: number;
  readonly rows: number;
  readonly bytes: number;
}

/**
 * A buffer a reader lends the store for a read, for a reader that is done with each chunk before
 * it asks for the next: a follower, which waits for each chunk to be flushed to its socket. A
 * fresh 4 MiB buffer per chunk lived through enough collections, while the reader sent it and
 * the agent's next chunk came in, to reach the old generation, which frees it only at a full
 * collection (the bot's peak with a reader following a million rows: 153-158 MB, 124-135 MB
 * with the buffer used again; `npm run bench -- results`).
 */
export interface ReadScratch {
  buffer: Buffer;
}

export interface ResultStore {
  /** Stores chunk `seq` of `key`, holding `rows` rows. */
  putChunk(key: string, seq: number, rows: number, ndjson: Buffer): Promise<void>;
  /** The chunks stored under `key`, by seq. */
  listChunks(key: string): Promise<StoredChunk[]>;
  /**
   * The bytes of chunks `from` … count-1 (from 0 unless given), one buffer per chunk, in order.
   * With `scratch`, the store may read each chunk into that buffer, grown as needed and used
   * again: a chunk it yields is then valid only until the next one is asked for.
   */
  read(key: string, count: number, from?: number, scratch?: ReadScratch): AsyncIterable<Buffer>;
  /** Makes the stored chunks durable before the result is recorded as stored. */
  seal(key: string): Promise<void>;
  /** Deletes everything under `key`; nothing there is fine. */
  remove(key: string): Promise<void>;
}

/** The chunks 0 … n-1 present without a gap, and their totals. */
export function contiguousChunks(chunks: readonly StoredChunk[]): {
  count: number;
  rows: number;
  bytes: number;
} {
  let count = 0;
  let rows = 0;
  let bytes = 0;
  for (const c of chunks) {
    if (c.seq !== count) break;
    count += 1;
    rows += c.rows;
    bytes += c.bytes;
  }
  return { count, rows, bytes };
}
