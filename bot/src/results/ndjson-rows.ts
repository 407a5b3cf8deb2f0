/**
 * Result rows as they travel and rest: NDJSON, one JSON array per line, each line ending in `\n`.
 * The bot checks every chunk before it stores it (zero trust between components: a chunk that is
 * not rows never reaches a reader's CSV), and splits stored chunks back into rows.
 */
import { DbwardError } from "@dbward/shared";

/** The rows of an NDJSON chunk; throws `request.invalid` naming the first bad line. */
export function countNdjsonRows(body: Buffer): number {
  if (body.length === 0 || body[body.length - 1] !== 0x0a) {
    throw new DbwardError("request.invalid", "a result chunk must be NDJSON rows, each line ending in \\n");
  }
  const lines = splitLines(body);
  lines.forEach((line, i) => {
    if (!isRow(line))
      throw new DbwardError("request.invalid", `result chunk line ${i + 1} is not a JSON array`);
  });
  return lines.length;
}

/** The lines of a chunk, without their `\n`. */
export function splitLines(chunk: Buffer): string[] {
  const text = chunk.toString("utf8");
  const lines = text.split("\n");
  lines.pop();
  return lines;
}

function isRow(line: string): boolean {
  if (!line.startsWith("[")) return false;
  try {
    return Array.isArray(JSON.parse(line));
  } catch {
    return false;
  }
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
