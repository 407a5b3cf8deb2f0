/**
 * The format of each result's chunk 0 (result-chunk.ts `chunkFormat`), which every later chunk of
 * that result must share. Kept per result store for the results being uploaded, so a chunk is
 * checked without reading chunk 0 (4 MiB) again; a result this process has not seen (another bot
 * instance took its chunk 0, or this one restarted) reads chunk 0 once. Chunk 0 never changes
 * once stored (a seq sent again is acknowledged, not stored), so a remembered format stays true.
 */
import { chunkFormat } from "./result-chunk.ts";
import type { ResultStore } from "./result-store.ts";

/** Results remembered per store, the oldest forgotten first: far more than run at once. */
const REMEMBERED = 1024;

const formats = new WeakMap<ResultStore, Map<string, string>>();

/** Remembers the format of `key`'s chunk 0, once it is stored. */
export function rememberFirstChunk(store: ResultStore, key: string, chunk: Buffer): void {
  let known = formats.get(store);
  if (known === undefined) {
    known = new Map();
    formats.set(store, known);
  }
  if (known.size >= REMEMBERED) {
    const oldest = known.keys().next();
    if (oldest.done !== true) known.delete(oldest.value);
  }
  known.set(key, chunkFormat(chunk));
}

/** The format of `key`'s chunk 0; undefined when no chunk 0 is stored. */
export async function firstChunkFormat(store: ResultStore, key: string): Promise<string | undefined> {
  const known = formats.get(store)?.get(key);
  if (known !== undefined) return known;
  for await (const chunk of store.read(key, 1)) {
    rememberFirstChunk(store, key, chunk);
    return chunkFormat(chunk);
  }
  return undefined;
}
