import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { encodeResult, ROWS_PER_TURN } from "./result-encoding.ts";

const ROWS = 5 * ROWS_PER_TURN;
const HEAD = {
  request_id: 1,
  execution: 1,
  duration_ms: 1,
  columns: ["n", "doc"],
  row_count: ROWS,
  truncated: false,
};

/** One stored CSV chunk of ROWS rows. */
async function* oneChunk(): AsyncGenerator<Buffer> {
  let csv = "%csv number,json\n";
  for (let n = 0; n < ROWS; n += 1) csv += `${n},"{""n"": ${n}}"\n`;
  yield Buffer.from(csv);
}

/** Consumes a download, counting the turns the event loop had meanwhile. */
async function download(format: "ndjson" | "json"): Promise<{ text: string; turns: number }> {
  let turns = 0;
  let running = true;
  const tick = (): void => {
    if (!running) return;
    turns += 1;
    setImmediate(tick);
  };
  setImmediate(tick);
  let text = "";
  for await (const piece of encodeResult(format, HEAD, oneChunk())) text += piece.toString();
  running = false;
  return { text, turns };
}

describe("JSON and NDJSON downloads of CSV chunks", () => {
  test("let the event loop run while a chunk's rows are converted, a slice at a time", async () => {
    for (const format of ["ndjson", "json"] as const) {
      const { text, turns } = await download(format);
      assert.ok(turns >= ROWS / ROWS_PER_TURN - 1, `${format}: ${turns} turns`);
      const rows = format === "ndjson" ? text.trimEnd().split("\n").slice(1) : null;
      if (rows !== null) {
        assert.equal(rows.length, ROWS);
        assert.equal(rows[ROWS - 1], `[${ROWS - 1},{"n": ${ROWS - 1}}]`);
      } else {
        const view = JSON.parse(text) as { rows: unknown[][] };
        assert.equal(view.rows.length, ROWS);
        assert.deepEqual(view.rows[ROWS - 1], [ROWS - 1, { n: ROWS - 1 }]);
      }
    }
  });
});
