/**
 * Result rows as they travel and rest: NDJSON, one JSON array per line, each line ending in `\n`.
 * The bot checks every chunk before it stores it (zero trust between components: a chunk that is
 * not rows never reaches a reader's CSV), and splits stored chunks back into rows.
 */
import { isUtf8 } from "node:buffer";
import { DbwardError } from "@dbward/shared";
import { skipSpace, skipValue } from "./json-bytes.ts";

/**
 * The rows of an NDJSON chunk; throws `request.invalid` naming the first bad line. A line is a
 * row when `JSON.parse` would read it as an array: it starts with `[`, holds one JSON value, and
 * may end in spaces. Bytes that are not UTF-8 are refused too, so what is stored decodes one way.
 */
export function countNdjsonRows(body: Buffer): number {
  if (body.length === 0 || body[body.length - 1] !== 0x0a) {
    throw new DbwardError("request.invalid", "a result chunk must be NDJSON rows, each line ending in \\n");
  }
  if (!isUtf8(body)) throw new DbwardError("request.invalid", "a result chunk must be UTF-8");
  let rows = 0;
  let i = 0;
  while (i < body.length) {
    rows += 1;
    const end = body[i] === 0x5b ? skipValue(body, i) : -1;
    const eol = end < 0 ? -1 : skipSpace(body, end);
    if (eol < 0 || body[eol] !== 0x0a) {
      throw new DbwardError("request.invalid", `result chunk line ${rows} is not a JSON array`);
    }
    i = eol + 1;
  }
  return rows;
}

/** The lines of a chunk, without their `\n`. */
export function splitLines(chunk: Buffer): string[] {
  const text = chunk.toString("utf8");
  const lines = text.split("\n");
  lines.pop();
  return lines;
}

/** Rows from NDJSON lines, as stored; the lines were checked when they arrived. */
export function parseRow(line: string): unknown[] {
  const row: unknown = JSON.parse(line);
  if (!Array.isArray(row)) throw new DbwardError("internal", "a stored result line is not a row");
  return row;
}

/** The NDJSON of rows, for a small result that arrived inline. */
export function toNdjson(rows: readonly unknown[][]): Buffer {
  return Buffer.from(rows.map((r) => `${JSON.stringify(r)}\n`).join(""));
}
