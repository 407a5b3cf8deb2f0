/** The file result store: chunks listed from their names, and chunks stored under the older names. */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { createFileResultStore } from "./file-result-store.ts";

const root = mkdtempSync(join(tmpdir(), "dbward-results-"));
after(() => rmSync(root, { recursive: true, force: true }));

async function readAll(chunks: AsyncIterable<Buffer>): Promise<string> {
  let text = "";
  for await (const chunk of chunks) text += chunk.toString("utf8");
  return text;
}

describe("file result store", () => {
  test("lists chunks with their rows and bytes, and a chunk stored again keeps one copy", async () => {
    const store = createFileResultStore(root);
    await store.putChunk("job-a", 0, 2, Buffer.from("[1]\n[2]\n"));
    await store.putChunk("job-a", 1, 1, Buffer.from('["é"]\n'));
    await store.putChunk("job-a", 1, 1, Buffer.from('["é"]\n'));
    assert.deepEqual(await store.listChunks("job-a"), [
      { seq: 0, rows: 2, bytes: 8 },
      { seq: 1, rows: 1, bytes: 7 },
    ]);
    assert.equal(readdirSync(join(root, "job-a")).length, 2);
    assert.equal(await readAll(store.read("job-a", 2)), '[1]\n[2]\n["é"]\n');
  });

  test("reads into a reader's scratch buffer, grown when a chunk is larger and used again", async () => {
    const store = createFileResultStore(root);
    const stored = [Buffer.from("[1]\n"), Buffer.from(`["${"x".repeat(5000)}"]\n`), Buffer.from("[3]\n")];
    for (const [seq, chunk] of stored.entries()) await store.putChunk("job-s", seq, 1, chunk);
    const scratch = { buffer: Buffer.alloc(0) };
    const read: Buffer[] = [];
    const memory: ArrayBufferLike[] = [];
    for await (const chunk of store.read("job-s", 3, 0, scratch)) {
      read.push(Buffer.from(chunk));
      memory.push(chunk.buffer);
    }
    assert.deepEqual(read, stored);
    assert.equal(scratch.buffer.length, stored[1]?.length, "grown once, to the largest chunk");
    assert.equal(memory[2], memory[1], "the third chunk was read into the second's buffer");
    // From a later seq, with the buffer it already has.
    assert.equal(await readAll(store.read("job-s", 3, 2, scratch)), "[3]\n");
  });

  test("reads chunks stored under names without the byte count", async () => {
    const store = createFileResultStore(root);
    await store.putChunk("job-b", 0, 1, Buffer.from("[1]\n"));
    writeFileSync(join(root, "job-b", "00000001-2.ndjson"), "[2]\n[3]\n");
    assert.deepEqual(await store.listChunks("job-b"), [
      { seq: 0, rows: 1, bytes: 4 },
      { seq: 1, rows: 2, bytes: 8 },
    ]);
    assert.equal(await readAll(store.read("job-b", 2)), "[1]\n[2]\n[3]\n");
  });
});
