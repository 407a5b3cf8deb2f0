/**
 * A stored result chunk is NDJSON rows (ndjson-rows.ts) or CSV rows behind a `%csv <kinds>` head
 * line (shared result-csv.ts); its first byte says which. Both are checked when they arrive
 * (zero trust between components: a chunk that is not whole, well-formed rows never reaches a
 * reader), and every reader goes through here, so a result stored before CSV chunks existed, or
 * sent by an older agent, reads as it always did.
 */
import { isUtf8 } from "node:buffer";
import {
  cellsToJson,
  cellsToJsonText,
  countCsvRows,
  DbwardError,
  isCsvChunk,
  parseCsvChunkHead,
  parseCsvRows,
  parseCsvRowsAt,
  type ColumnKind,
} from "@dbward/shared";
import { ndjsonToCsv } from "./ndjson-csv.ts";
import { countNdjsonRows, parseRow, splitLines } from "./ndjson-rows.ts";

/**
 * The rows of a chunk an agent sent; throws `request.invalid` when it is not whole rows. A CSV
 * chunk holds NUL bytes only inside quoted fields (`countCsvRows`): PostgreSQL's text cannot hold
 * one, MySQL's can, and a reader's tools may end a string there, so one never stands unquoted.
 */
export function countChunkRows(body: Buffer): number {
  if (!isCsvChunk(body)) return countNdjsonRows(body);
  if (!isUtf8(body)) throw new DbwardError("request.invalid", "a result chunk must be UTF-8");
  const head = parseCsvChunkHead(body);
  if (head === undefined) {
    throw new DbwardError(
      "request.invalid",
      "a CSV result chunk must start with a `%csv <kinds>` line naming known column kinds",
    );
  }
  const rows = countCsvRows(body, head.rowsAt, head.kinds.length);
  if (rows <= 0) {
    throw new DbwardError(
      "request.invalid",
      `a CSV result chunk must hold whole rows of ${head.kinds.length} fields, each line ending in \\n, with CR and NUL only inside quotes`,
    );
  }
  return rows;
}

/**
 * What every chunk of one result must share: a CSV chunk's head line (its bytes, kinds and
 * width), or `ndjson`. Taken from a chunk `countChunkRows` accepted.
 */
export function chunkFormat(chunk: Buffer): string {
  if (!isCsvChunk(chunk)) return "ndjson";
  return chunk.toString("utf8", 0, chunk.indexOf(0x0a) + 1);
}

/**
 * Refuses a chunk whose format is not that of the result's chunk 0 (zero trust between
 * components: a result read back by chunk 0's kinds must not hold rows of another width or
 * kinds, nor NDJSON lines that would be read as CSV).
 */
export function assertSameFormat(first: string, chunk: Buffer): void {
  if (chunkFormat(chunk) === first) return;
  throw new DbwardError(
    "request.invalid",
    first === "ndjson"
      ? "this result's chunks are NDJSON: a CSV chunk cannot join them"
      : `every CSV chunk of a result must start with chunk 0's head line, ${JSON.stringify(first.trimEnd())}`,
  );
}

/**
 * Refuses a result whose chunk 0 (its format, `chunkFormat`) names another number of columns than
 * the result declares (`streamed.columns`): its rows would be read under the wrong names.
 */
export function assertColumnCount(first: string, columns: number): void {
  const head = parseCsvChunkHead(Buffer.from(first));
  if (head === undefined || head.kinds.length === columns) return;
  throw new DbwardError(
    "request.invalid",
    `the result declares ${columns} columns but its CSV chunks hold ${head.kinds.length}`,
  );
}

/** The CSV lines of a stored chunk: a CSV chunk's own bytes (no copy), an NDJSON chunk's CSV. */
export function chunkCsv(chunk: Buffer): Buffer {
  const head = parseCsvChunkHead(chunk);
  if (head !== undefined) return chunk.subarray(head.rowsAt);
  return ndjsonToCsv(chunk);
}

/** The NDJSON lines of a stored chunk, without their `\n`. */
export function chunkJsonLines(chunk: Buffer): string[] {
  const csv = csvRowsOf(chunk);
  if (csv === undefined) return splitLines(chunk);
  // json cells go as their own text: parsed and written again, a deep document would overflow
  // JSON.stringify's stack and cut a download off after its 200.
  return csv.rows.map((cells) => cellsToJsonText(cells, csv.kinds));
}

/**
 * The NDJSON lines of a stored chunk (`chunkJsonLines`), `rows` at a time, so a reader can let
 * the event loop run between slices: converting a 4 MiB CSV chunk takes about a second. An NDJSON
 * chunk's lines are not converted and come in one slice.
 */
export function* chunkJsonLineSlices(chunk: Buffer, rows: number): Generator<string[]> {
  const head = isCsvChunk(chunk) ? parseCsvChunkHead(chunk) : undefined;
  if (head === undefined) {
    yield chunkJsonLines(chunk);
    return;
  }
  let at = head.rowsAt;
  while (at < chunk.length) {
    const slice = parseCsvRowsAt(chunk, at, head.kinds.length, rows);
    at = slice.next;
    yield slice.rows.map((cells) => cellsToJsonText(cells, head.kinds));
  }
}

/** The NDJSON bytes of a stored chunk: an NDJSON chunk as it is. */
export function chunkNdjson(chunk: Buffer): Buffer {
  if (!isCsvChunk(chunk)) return chunk;
  const lines = chunkJsonLines(chunk);
  return Buffer.from(lines.length === 0 ? "" : `${lines.join("\n")}\n`);
}

/** The first `limit` rows of a stored chunk as JSON values (a preview reads only those). */
export function chunkRows(chunk: Buffer, limit = Infinity): unknown[][] {
  const csv = csvRowsOf(chunk, limit);
  if (csv === undefined) return splitLines(chunk).slice(0, limit).map(parseRow);
  return csv.rows.map((cells) => cellsToJson(cells, csv.kinds));
}

function csvRowsOf(
  chunk: Buffer,
  limit = Infinity,
): { kinds: ColumnKind[]; rows: (string | null)[][] } | undefined {
  if (!isCsvChunk(chunk)) return undefined;
  const head = parseCsvChunkHead(chunk);
  if (head === undefined) throw new DbwardError("internal", "a stored CSV result chunk has no head line");
  return { kinds: head.kinds, rows: parseCsvRows(chunk, head.rowsAt, head.kinds.length, limit) };
}
