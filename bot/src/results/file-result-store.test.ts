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
