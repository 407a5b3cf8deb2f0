/**
 * The default result store: files under the bot's data directory (`results/` unless configured),
 * one directory per result, one file per chunk named `<seq>-<rows>-<bytes>.ndjson` (CSV chunks
 * too: a chunk's first byte says its format, result-chunk.ts): the bot lists a result's chunks
 * for every chunk it takes, and the names alone answer that, without a `stat` per chunk. Chunks named `<seq>-<rows>.ndjson` (stored before) are still read, their size taken
 * from the file. A chunk is written to a temporary name, synced and renamed, so a crash never
 * leaves half a chunk under a real name; `seal` syncs the files (cheap by then) and the directory
 * before the result is recorded. Directories are created 0700 and files 0600: results are data
 * the policy restricts. With the state store encrypted (`state` carries its data keys, crypto/
 * state-cipher.ts) each chunk file is one sealed record, AES-256-GCM bound to its result key and
 * seq; its name keeps the clear byte count, which is what the totals add up.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { isSealedBytes } from "../crypto/sealed-value.ts";
import { openChunk, placeOf, sealChunk, stateCipherOf } from "../crypto/state-cipher.ts";
import type { Database } from "../store/tables.ts";
import type { ReadScratch, ResultStore, StoredChunk } from "./result-store.ts";

const KEY = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const CHUNK_FILE = /^([0-9]{8})-([0-9]{1,12})(?:-([0-9]{1,12}))?\.ndjson$/;

/** The AAD of a stored chunk: the same in every result store, so a chunk moves between them. */
export const chunkPlace = (key: string, seq: number): string => placeOf("results", key, seq);

/**
 * `state`: the state store whose keys seal the chunks (none: chunks are written in the clear, as
 * a store without encryption does; a test of the files alone).
 */
export function createFileResultStore(root: string, state?: Kysely<Database>): ResultStore {
  const seal = (key: string, seq: number, ndjson: Buffer): Promise<Buffer> =>
    state === undefined ? Promise.resolve(ndjson) : sealChunk(state, chunkPlace(key, seq), ndjson);
  const unseal = (key: string, seq: number, stored: Buffer): Buffer =>
    state === undefined ? stored : openChunk(state, chunkPlace(key, seq), stored);
  const dirOf = (key: string): string => {
    // Keys come from job ids the bot made, but a path is built from them: check anyway.
    if (!KEY.test(key)) throw new Error(`not a result key: ${JSON.stringify(key)}`);
    return join(root, key);
  };
  const list = async (key: string): Promise<(StoredChunk & { file: string })[]> => {
    let names: string[];
    try {
      names = await readdir(dirOf(key));
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
    const dir = dirOf(key);
    const chunks = await Promise.all(
      names.flatMap((name) => {
        const m = CHUNK_FILE.exec(name);
        if (m?.[1] === undefined || m[2] === undefined) return [];
        const file = join(dir, name);
        const seq = Number(m[1]);
        const rows = Number(m[2]);
        const named = m[3];
        if (named !== undefined) return [Promise.resolve({ seq, rows, bytes: Number(named), file })];
        return [fileSize(file).then((bytes) => ({ seq, rows, bytes, file }))];
      }),
    );
    return chunks.sort((a, b) => a.seq - b.seq);
  };
  return {
    async putChunk(key, seq, rows, ndjson) {
      const dir = dirOf(key);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      // A retried chunk replaces its first copy; the rows and bytes are the same, so is the name.
      const name = `${String(seq).padStart(8, "0")}-${rows}-${ndjson.length}.ndjson`;
      const tmp = join(dir, `.${name}.${randomBytes(6).toString("hex")}.tmp`);
      // Synced as it arrives, while the agent fills the next chunk: left to `seal`, a large
      // result's writes all went to the disk after its last chunk, with everyone waiting.
      const handle = await open(tmp, "w", 0o600);
      try {
        await handle.writeFile(await seal(key, seq, ndjson));
        await handle.datasync();
      } finally {
        await handle.close();
      }
      await rename(tmp, join(dir, name));
    },
    listChunks: async (key) => (await list(key)).map(({ seq, rows, bytes }) => ({ seq, rows, bytes })),
    async *read(key, count, from = 0, scratch) {
      const chunks = await list(key);
      for (let seq = from; seq < count; seq += 1) {
        const chunk = chunks[seq];
        if (chunk?.seq !== seq) throw new Error(`result ${key} has no chunk ${seq}`);
        // One chunk at a time (at most MAX_RESULT_CHUNK_BYTES): memory stays flat.
        const bytes =
          scratch === undefined ? await readFile(chunk.file) : await readInto(chunk.file, scratch);
        yield unseal(key, seq, bytes);
      }
    },
    async seal(key) {
      const chunks = await list(key);
      if (chunks.length === 0) return;
      for (const chunk of chunks) await syncPath(chunk.file);
      await syncPath(dirOf(key));
    },
    async remove(key) {
      await rm(dirOf(key), { recursive: true, force: true });
    },
  };
}

/**
 * `dbward state encrypt`: seals every chunk file under `root` still in the clear (written before
 * the state key was set), each through a synced temporary file renamed over it. A file named
 * without its byte count (stored before) gets the name that carries the clear count. How many.
 */
export async function sealClearChunkFiles(root: string, state: Kysely<Database>): Promise<number> {
  const cipher = stateCipherOf(state);
  if (cipher === undefined) throw new Error("state.key_missing: no state key to seal result files with");
  let keys: string[];
  try {
    keys = (await readdir(root)).filter((k) => KEY.test(k));
  } catch (err) {
    if (isMissing(err)) return 0;
    throw err;
  }
  let sealed = 0;
  for (const key of keys) {
    const dir = join(root, key);
    for (const name of await readdir(dir)) {
      const m = CHUNK_FILE.exec(name);
      if (m?.[1] === undefined || m[2] === undefined) continue;
      const file = join(dir, name);
      const clear = await readFile(file);
      if (isSealedBytes(clear)) continue;
      const seq = Number(m[1]);
      const target = join(dir, `${m[1]}-${m[2]}-${clear.length}.ndjson`);
      const tmp = join(dir, `.${name}.${randomBytes(6).toString("hex")}.tmp`);
      const handle = await open(tmp, "w", 0o600);
      try {
        await handle.writeFile(cipher.sealBytes(chunkPlace(key, seq), clear));
        await handle.datasync();
      } finally {
        await handle.close();
      }
      await rename(tmp, target);
      if (target !== file) await rm(file, { force: true });
      await syncPath(dir);
      sealed += 1;
    }
  }
  return sealed;
}

/** A chunk file's bytes, read into the scratch buffer (grown when the file is larger). */
async function readInto(file: string, scratch: ReadScratch): Promise<Buffer> {
  const handle = await open(file, "r");
  try {
    const { size } = await handle.stat();
    if (scratch.buffer.length < size) scratch.buffer = Buffer.allocUnsafeSlow(size);
    let at = 0;
    while (at < size) {
      const { bytesRead } = await handle.read(scratch.buffer, at, size - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    // A chunk file is written whole and renamed into place: it never shrinks under a reader.
    return scratch.buffer.subarray(0, at);
  } finally {
    await handle.close();
  }
}

async function fileSize(file: string): Promise<number> {
  return (await stat(file)).size;
}

async function syncPath(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isMissing(err: unknown): boolean {
  return typeof err === "object" && err !== null && "code" in err && err.code === "ENOENT";
}
