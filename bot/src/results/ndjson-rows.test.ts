/**
 * The chunk check reads bytes, not strings: it must accept exactly the lines `JSON.parse` reads
 * as arrays, so the property is checked against `JSON.parse` itself, on hand-picked edge cases
 * and on many generated near-JSON lines.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DbwardError } from "@dbward/shared";
import { countNdjsonRows } from "./ndjson-rows.ts";

/** What the bot accepted before it checked bytes: the line parses, as an array. */
function parsesAsRow(line: string): boolean {
  if (!line.startsWith("[")) return false;
  try {
    return Array.isArray(JSON.parse(line));
  } catch {
    return false;
  }
}

function accepted(line: string): boolean {
  try {
    return countNdjsonRows(Buffer.from(`${line}\n`)) === 1;
  } catch (err) {
    if (err instanceof DbwardError && err.code === "request.invalid") return false;
    throw err;
  }
}

const EDGE_CASES = [
  "[]",
  "[ ]",
  "[\t1 ,\r2 ]",
  "[1] ",
  "[1]\r",
  " [1]",
  "[1]]",
  "[[1]",
  "[1,]",
  "[,1]",
  "[1 2]",
  "[01]",
  "[-0]",
  "[-]",
  "[1.]",
  "[.5]",
  "[1.5e]",
  "[1e+]",
  "[1E-7]",
  "[1e400]",
  "[-01.5]",
  "[+1]",
  "[tru]",
  "[true]",
  "[truex]",
  "[nul]",
  "[null,false,true]",
  "[NaN]",
  '["a\\"b"]',
  '["\\u00e9\\uD83D\\ude00"]',
  '["\\u12G4"]',
  '["\\x41"]',
  '["\\/\\b\\f\\n\\r\\t"]',
  '["tab\there"]',
  '["\u007f"]',
  '["\u2028"]',
  '["é中😀"]',
  '["unterminated]',
  '[{"a":1,"b":[{}]}]',
  '[{"a" 1}]',
  '[{"a":}]',
  "[{1:1}]",
  '[{"a":1,}]',
  '[{"a":1]',
  "[[[[[[[[[[]]]]]]]]]]",
  `${"[".repeat(5000)}${"]".repeat(5000)}`,
  "{}",
  '"string"',
  "1",
  "",
  "\uFEFF[1]",
];

/** A deterministic generator, so a failure can be reproduced. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x80000000;
  };
}

const PIECES = [
  "[",
  "]",
  "{",
  "}",
  ",",
  ":",
  " ",
  "\t",
  "\r",
  '"',
  "\\",
  "\\u",
  "0",
  "1",
  "9",
  "-",
  "+",
  ".",
  "e",
  "E",
  "true",
  "false",
  "null",
  '"a"',
  '"k":',
  "é",
  "\u0001",
  "\\n",
  "00",
  "ab",
  "F",
  "\u2028",
];

/** Lines close to JSON: a valid row with a few pieces inserted, replaced or removed. */
function nearRow(next: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
  const value = (depth: number): string => {
    const r = next();
    if (depth > 3 || r < 0.4) return pick(['"x"', "12", "-3.5e2", "true", "null", '"a,b"', '"\\"q\\""', "0"]);
    if (r < 0.7)
      return `[${Array.from({ length: Math.floor(next() * 3) }, () => value(depth + 1)).join(",")}]`;
    return `{${Array.from({ length: Math.floor(next() * 3) }, (_, i) => `"k${i}":${value(depth + 1)}`).join(",")}}`;
  };
  let line = `[${Array.from({ length: 1 + Math.floor(next() * 4) }, () => value(1)).join(",")}]`;
  const edits = Math.floor(next() * 3);
  for (let e = 0; e < edits; e += 1) {
    const at = Math.floor(next() * (line.length + 1));
    const r = next();
    if (r < 0.4) line = line.slice(0, at) + pick(PIECES) + line.slice(at);
    else if (r < 0.7) line = line.slice(0, at) + line.slice(at + 1);
    else line = line.slice(0, at) + pick(PIECES) + line.slice(at + 1);
  }
  return line;
}

describe("result chunk check", () => {
  test("accepts exactly the lines JSON.parse reads as arrays, on edge cases", () => {
    for (const line of EDGE_CASES) assert.equal(accepted(line), parsesAsRow(line), JSON.stringify(line));
  });

  test("accepts exactly the lines JSON.parse reads as arrays, on generated near-JSON lines", () => {
    const next = random(20240611);
    let valid = 0;
    for (let n = 0; n < 30_000; n += 1) {
      const line = nearRow(next);
      const expected = parsesAsRow(line);
      assert.equal(accepted(line), expected, JSON.stringify(line));
      if (expected) valid += 1;
    }
    // Both sides of the property were exercised.
    assert.ok(valid > 3000 && valid < 27_000, `${valid} valid lines`);
  });

  test("counts rows, and names the first bad line", () => {
    assert.equal(countNdjsonRows(Buffer.from('[1]\n["a"]\n[]\n')), 3);
    assert.throws(() => countNdjsonRows(Buffer.from("[1]\n[2\n[3]\n")), /line 2 is not a JSON array/);
    assert.throws(() => countNdjsonRows(Buffer.from("[1]\n\n")), /line 2 is not a JSON array/);
  });

  test("refuses a chunk without a final newline, an empty one, and bytes that are not UTF-8", () => {
    assert.throws(() => countNdjsonRows(Buffer.from("[1]")), /ending in/);
    assert.throws(() => countNdjsonRows(Buffer.alloc(0)), /ending in/);
    const latin1 = Buffer.concat([Buffer.from('["caf'), Buffer.from([0xe9]), Buffer.from('"]\n')]);
    assert.throws(() => countNdjsonRows(latin1), /UTF-8/);
    const surrogate = Buffer.concat([
      Buffer.from('["'),
      Buffer.from([0xed, 0xa0, 0x80]),
      Buffer.from('"]\n'),
    ]);
    assert.throws(() => countNdjsonRows(surrogate), /UTF-8/);
  });
});
