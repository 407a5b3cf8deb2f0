/**
 * Streams a stored result as CSV, NDJSON or JSON, one stored chunk at a time, so a reader of a
 * million rows never makes the bot hold more than one chunk.
 * - CSV (RFC 4180): a header line of column names, then one line per row, what
 *   `psql \copy (…) TO … WITH CSV HEADER` writes. A chunk the agent read as CSV (PostgreSQL)
 *   is sent as its stored bytes, the server's own text; a chunk of NDJSON values is written with
 *   the same quoting as PostgreSQL's `COPY … CSV`: a field is quoted when it holds a comma, a
 *   quote, CR or LF, when it is empty text (so it differs from NULL, which is an empty field) or
 *   is `\.`; quotes are doubled; objects and arrays (json columns) are written as JSON text.
 *   Values are written as they are: a spreadsheet that evaluates `=…` cells should not open
 *   results it does not trust.
 * - NDJSON: the first line is the array of column names; every further line one row, with the
 *   JSON types of the values (result-chunk.ts reads CSV chunks by their columns' kinds).
 * - JSON: the ResultView shape with every row (`preview: false`).
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import { csvTextLine, isCsvChunk, type ResultFormat, type ResultView } from "@dbward/shared";
import { chunkCsv, chunkJsonLineSlices, chunkRows } from "./result-chunk.ts";

/** Strings are gathered up to about this size before they are handed to the response. */
const PIECE_CHARS = 64 * 1024;

/**
 * CSV rows converted to JSON between two turns of the event loop: a 4 MiB chunk converted in one
 * go held the bot's event loop (every other request, Slack's 3-second ack) for about a second.
 */
export const ROWS_PER_TURN = 2000;

export const CONTENT_TYPES: Record<ResultFormat, string> = {
  csv: "text/csv; charset=utf-8",
  ndjson: "application/x-ndjson",
  json: "application/json",
};

export async function* encodeResult(
  format: ResultFormat,
  head: Omit<ResultView, "rows">,
  chunks: AsyncIterable<Buffer>,
): AsyncGenerator<string | Buffer> {
  switch (format) {
    case "ndjson":
      yield `${JSON.stringify(head.columns)}\n`;
      // NDJSON chunks pass through untouched; CSV chunks are converted a slice at a time.
      for await (const chunk of chunks) {
        if (!isCsvChunk(chunk)) {
          if (chunk.length > 0) yield chunk;
          continue;
        }
        for (const lines of jsonLineSlices(chunk)) {
          if (lines.length > 0) yield `${lines.join("\n")}\n`;
          await nextTurn();
        }
      }
      return;
    case "csv":
      yield csvTextLine(head.columns);
      // One stored chunk's CSV at a time, as bytes.
      for await (const chunk of chunks) {
        const csv = chunkCsv(chunk);
        if (csv.length > 0) yield csv;
      }
      return;
    case "json": {
      const open = JSON.stringify({ ...head, preview: false });
      // The head without its closing brace, then the rows array as its last member.
      yield `${open.slice(0, -1)},"rows":[`;
      let first = true;
      yield* pieces(chunks, (line) => {
        const sep = first ? "\n" : ",\n";
        first = false;
        return sep + line;
      });
      yield "\n]}\n";
      return;
    }
  }
}

async function* pieces(
  chunks: AsyncIterable<Buffer>,
  each: (line: string) => string,
): AsyncGenerator<string> {
  let piece = "";
  for await (const chunk of chunks) {
    for (const lines of jsonLineSlices(chunk)) {
      for (const line of lines) {
        piece += each(line);
        if (piece.length >= PIECE_CHARS) {
          yield piece;
          piece = "";
        }
      }
      if (isCsvChunk(chunk)) await nextTurn();
    }
  }
  if (piece !== "") yield piece;
}

function jsonLineSlices(chunk: Buffer): Generator<string[]> {
  return chunkJsonLineSlices(chunk, ROWS_PER_TURN);
}

/** At most `limit` rows from the start of a result, reading only the chunks it needs. */
export async function firstRows(chunks: AsyncIterable<Buffer>, limit: number): Promise<unknown[][]> {
  const rows: unknown[][] = [];
  if (limit <= 0) return rows;
  for await (const chunk of chunks) {
    for (const row of chunkRows(chunk, limit - rows.length)) {
      rows.push(row);
      if (rows.length >= limit) return rows;
    }
  }
  return rows;
}
