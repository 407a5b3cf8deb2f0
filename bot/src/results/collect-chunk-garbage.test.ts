import assert from "node:assert/strict";
import { test } from "node:test";
import { runInNewContext } from "node:vm";
import { collectChunkGarbage } from "./collect-chunk-garbage.ts";

const MB = 1024 * 1024;

/** A dead 32 MB buffer, as a stored chunk leaves behind. */
function dropChunk(): number {
  const chunk = Buffer.alloc(32 * MB, 1);
  return chunk[0] ?? 0;
}

const buffers = (): number => process.memoryUsage().arrayBuffers;

/**
 * V8 may hand the freeing of dead buffers to a background sweeper, whose count is settled at the
 * next collection: a few turns of the event loop, too few for the young generation to fill up
 * and free them unasked, then the next chunk's collection, as the bot makes it.
 */
async function settle(): Promise<void> {
  for (let turn = 0; turn < 10; turn += 1) await new Promise((resolve) => setImmediate(resolve));
  collectChunkGarbage();
}

test("a scavenge after a chunk frees the buffers the chunk left behind", async () => {
  // Whatever start-up left dead is freed first, so only the chunk moves the count below.
  collectChunkGarbage();
  await settle();
  const before = buffers();
  dropChunk();
  const withGarbage = buffers();
  assert.ok(withGarbage >= before + 32 * MB, "the dead chunk is still counted");
  collectChunkGarbage();
  await settle();
  assert.ok(buffers() <= withGarbage - 30 * MB, "the dead chunk was freed");
});

test("reaching the collector leaves no gc global in this or any later context", () => {
  collectChunkGarbage();
  assert.equal("gc" in globalThis, false);
  assert.equal(runInNewContext("typeof gc"), "undefined");
});
