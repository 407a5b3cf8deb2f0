/** The result upload: chunking, caps, backpressure and honest truncation, without a bot. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ResultUpload, type UploadStop } from "./result-upload.ts";

function upload(
  options: {
    rowCap?: number;
    maxBytes?: number;
    send?: (seq: number, b: Buffer) => Promise<{ cancel: boolean }>;
  } = {},
) {
  const sent: string[] = [];
  const stops: UploadStop[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const u = new ResultUpload({
    rowCap: options.rowCap ?? 1000,
    maxBytes: options.maxBytes ?? 1_000_000,
    chunkBytes: 16,
    send:
      options.send ??
      (async (_seq, body) => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 2));
        inFlight -= 1;
        sent.push(body.toString("utf8"));
        return { cancel: false };
      }),
    onStop: (why) => stops.push(why),
  });
  return { u, sent, stops, maxInFlight: () => maxInFlight };
}

describe("result upload", () => {
  test("chunk 0 carries the column names, for a reader following the result; later chunks do not", async () => {
    const names: (readonly string[] | undefined)[] = [];
    const u = new ResultUpload({
      rowCap: 1000,
      maxBytes: 1_000_000,
      chunkBytes: 16,
      send: (_seq, _body, columns) => {
        names.push(columns);
        return Promise.resolve({ cancel: false });
      },
      onStop: () => undefined,
    });
    u.columns(["id", "naïve"]);
    await u.rows(Array.from({ length: 10 }, (_, i) => [i, "x"]));
    await u.finish();
    assert.ok(names.length > 2);
    assert.deepEqual(names[0], ["id", "naïve"]);
    assert.deepEqual(new Set(names.slice(1)), new Set([undefined]));
  });

  test("packs rows into NDJSON chunks of about the target size, in order, one in flight at a time", async () => {
    const s = upload();
    s.u.columns(["n"]);
    assert.equal(await s.u.rows(Array.from({ length: 10 }, (_, i) => [i])), true);
    const summary = await s.u.finish();
    assert.deepEqual(s.sent.join(""), Array.from({ length: 10 }, (_, i) => `[${i}]\n`).join(""));
    assert.ok(s.sent.every((c) => c.length <= 16));
    assert.equal(s.maxInFlight(), 1);
    assert.deepEqual(summary, {
      columns: ["n"],
      chunks: s.sent.length,
      row_count: 10,
      bytes: 40,
      truncated_by: null,
    });
  });

  test("counts bytes, not characters, and sends a row larger than a chunk on its own", async () => {
    const s = upload();
    const rows = [["é"], ["x".repeat(40)], ["😀", 1], ["中"]];
    assert.equal(await s.u.rows(rows), true);
    const summary = await s.u.finish();
    const ndjson = rows.map((r) => `${JSON.stringify(r)}\n`).join("");
    assert.equal(s.sent.join(""), ndjson);
    assert.ok(s.sent.includes(`["${"x".repeat(40)}"]\n`));
    assert.equal(summary.bytes, Buffer.byteLength(ndjson));
    assert.equal(summary.row_count, 4);
  });

  test("stops at the row cap and says so", async () => {
    const s = upload({ rowCap: 3 });
    assert.equal(await s.u.rows([[1], [2], [3], [4]]), false);
    assert.deepEqual(await s.u.finish(), {
      columns: [],
      chunks: 1,
      row_count: 3,
      bytes: 12,
      truncated_by: "rows",
    });
  });

  test("a result of exactly the row cap is not truncated", async () => {
    const s = upload({ rowCap: 3 });
    assert.equal(await s.u.rows([[1], [2], [3]]), true);
    assert.equal((await s.u.finish()).truncated_by, null);
  });

  test("stops at the byte cap and says so", async () => {
    const s = upload({ maxBytes: 10 });
    assert.equal(await s.u.rows([[1], [2], [3]]), false);
    assert.deepEqual((await s.u.finish()).truncated_by, "bytes");
  });

  test("a chunk the bot never took makes the result undelivered and stops the rows", async () => {
    const s = upload({ send: () => Promise.reject(new Error("bot down")) });
    await s.u.rows(Array.from({ length: 10 }, (_, i) => [i]));
    const summary = await s.u.finish();
    assert.equal(summary.truncated_by, "undelivered");
    assert.equal(summary.row_count, 0);
    assert.deepEqual(s.stops, ["undelivered"]);
  });

  test("a cancel in the bot's answer stops the rows and reports the stop", async () => {
    const s = upload({ send: () => Promise.resolve({ cancel: true }) });
    await s.u.rows(Array.from({ length: 10 }, (_, i) => [i]));
    assert.equal(await s.u.rows([[99]]), false);
    await s.u.finish();
    assert.deepEqual(s.stops, ["cancel"]);
  });

  describe("CSV rows (PostgreSQL COPY)", () => {
    const HEAD = "%csv number,text\n";
    /** Rows as a driver hands them: the bytes and where each row ends. */
    const batch = (rows: string[]): { bytes: Buffer; ends: number[] } => {
      const ends: number[] = [];
      let at = 0;
      for (const r of rows) ends.push((at += Buffer.byteLength(r)));
      return { bytes: Buffer.from(rows.join("")), ends };
    };
    const rows = (n: number): string[] => Array.from({ length: n }, (_, i) => `${i},"a\nb"\n`);

    test("copies whole rows behind a head line per chunk, in order, one chunk in flight", async () => {
      const s = upload();
      s.u.columns(["n", "t"], ["number", "text"]);
      assert.equal(await s.u.csv(batch(rows(6))), true);
      const summary = await s.u.finish();
      assert.ok(s.sent.every((c) => c.startsWith(HEAD)));
      assert.equal(s.sent.map((c) => c.slice(HEAD.length)).join(""), rows(6).join(""));
      assert.equal(s.maxInFlight(), 1);
      assert.deepEqual(summary, {
        columns: ["n", "t"],
        chunks: s.sent.length,
        row_count: 6,
        bytes: s.sent.reduce((n, c) => n + Buffer.byteLength(c), 0),
        truncated_by: null,
      });
    });

    test("stops at the row cap between two rows and reports it", async () => {
      const s = upload({ rowCap: 4 });
      s.u.columns(["n", "t"], ["number", "text"]);
      assert.equal(await s.u.csv(batch(rows(3))), true);
      assert.equal(await s.u.csv(batch(rows(3))), false);
      const summary = await s.u.finish();
      assert.equal(s.sent.map((c) => c.slice(HEAD.length)).join(""), [...rows(3), ...rows(1)].join(""));
      assert.deepEqual([summary.row_count, summary.truncated_by], [4, "rows"]);
    });

    test("stops at the byte cap, head lines counted, never cutting a row", async () => {
      const s = upload({ maxBytes: 60 });
      s.u.columns(["n", "t"], ["number", "text"]);
      assert.equal(await s.u.csv(batch(rows(20))), false);
      const summary = await s.u.finish();
      assert.ok(summary.bytes <= 60);
      assert.equal(summary.truncated_by, "bytes");
      assert.equal(s.sent.map((c) => c.slice(HEAD.length)).join(""), rows(summary.row_count).join(""));
    });
  });
});
