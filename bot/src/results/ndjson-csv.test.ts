/**
 * The byte path from stored rows to CSV must write exactly what parsing every row and writing it
 * with `csvLine` writes: checked on rows that take the byte path, rows that must not, and many
 * generated rows of every kind of value.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { csvLine, ndjsonToCsv } from "./ndjson-csv.ts";

const reference = (ndjson: string): string =>
  ndjson
    .split("\n")
    .slice(0, -1)
    .map((line) => csvLine(JSON.parse(line) as unknown[]))
    .join("");

const csvOf = (ndjson: string | Buffer): string =>
  ndjsonToCsv(typeof ndjson === "string" ? Buffer.from(ndjson) : ndjson).toString("utf8");

const LINES = [
  "[]",
  '[1,"customer-1","1.25","c4ca4238a0b923820dcc509a6f75849b"]',
  '["","a,b","a b",null,true,false]',
  '["say \\"hi\\"","line\\nbreak","cr\\r","\\\\.","back\\\\slash","\\u00e9"]',
  '["é中😀","\u2028"]',
  "[0,-1,123456789012345,1234567890123456,12345678901234567890,-0,1.0,1.50,1e21,1E5,1e-7,0.1,-2.5e-3,1e400]",
  '[[1,2],{"a":"b,c"},[],{}]',
  "[ 1 , 2 ]",
  '["x"] ',
  "[null]",
  '["\\/"]',
];

/** A deterministic generator, so a failure can be reproduced. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x80000000;
  };
}

function generatedRow(next: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
  const text = (): string =>
    Array.from({ length: Math.floor(next() * 6) }, () =>
      pick(["a", ",", '"', "\\", "\n", "é", " ", "."]),
    ).join("");
  const value = (): unknown => {
    const r = next();
    if (r < 0.3) return text();
    if (r < 0.5) return Math.floor((next() - 0.5) * 10 ** Math.floor(next() * 20));
    if (r < 0.6) return (next() - 0.5) * 10 ** Math.floor(next() * 30 - 10);
    if (r < 0.7) return pick([null, true, false, "\\.", ""]);
    if (r < 0.8) return [text(), 1];
    return text().replaceAll("\\", "");
  };
  return JSON.stringify(Array.from({ length: Math.floor(next() * 5) }, value));
}

describe("NDJSON rows to CSV", () => {
  test("writes what csvLine writes for each parsed row", () => {
    const ndjson = LINES.map((l) => `${l}\n`).join("");
    assert.equal(csvOf(ndjson), reference(ndjson));
    for (const line of LINES) assert.equal(csvOf(`${line}\n`), reference(`${line}\n`), line);
  });

  test("quotes text holding NUL, as the chunk check takes NUL only inside quotes", () => {
    const csv = ndjsonToCsv(Buffer.from('["a\\u0000b","plain"]\n'));
    assert.equal(csv.toString("utf8"), '"a\0b",plain\n');
  });

  test("writes what csvLine writes for generated rows of every kind of value", () => {
    const next = random(7);
    for (let n = 0; n < 200; n += 1) {
      const ndjson = Array.from({ length: 50 }, () => `${generatedRow(next)}\n`).join("");
      assert.equal(csvOf(ndjson), reference(ndjson), ndjson);
    }
  });

  test("a chunk whose CSV is longer than its rows still comes out whole", () => {
    const ndjson = `${'[[",",","]]\n'.repeat(100)}[1e21]\n`;
    assert.equal(csvOf(ndjson), reference(ndjson));
  });

  test("a stored chunk that is not UTF-8 is decoded as before", () => {
    const latin1 = Buffer.concat([Buffer.from('["caf'), Buffer.from([0xe9]), Buffer.from('",1]\n')]);
    assert.equal(csvOf(latin1), "caf\uFFFD,1\n");
  });

  test("a line that is not JSON fails the download rather than being written", () => {
    assert.throws(() => csvOf('[1]\n["a",]\n'), SyntaxError);
  });
});
