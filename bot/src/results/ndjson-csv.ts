/**
 * Stored NDJSON rows to CSV (RFC 4180, quoted like PostgreSQL's `COPY … CSV`: see
 * result-encoding.ts). `csvLine` is the reference: it writes parsed values. `ndjsonToCsv` gives
 * the same bytes for a whole stored chunk without parsing the rows most results are made of —
 * rows of strings without escapes, numbers, booleans and nulls — by copying their bytes; any
 * other line (an escape, a nested value, a space) goes through `JSON.parse` and `csvLine`.
 * Parsing every value made CSV downloads cost several times what storing the rows did.
 */
import { isUtf8 } from "node:buffer";
import { csvValueText } from "@dbward/shared";
import { skipNumber } from "./json-bytes.ts";
import { parseRow, splitLines } from "./ndjson-rows.ts";

export function csvField(value: unknown): string {
  if (value === null || value === undefined) return "";
  return csvValueText(typeof value === "object" ? JSON.stringify(value) : String(value));
}

export function csvLine(values: readonly unknown[]): string {
  return `${values.map(csvField).join(",")}\n`;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const NEWLINE = 0x0a;
const MINUS = 0x2d;
const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
/** Integers of up to 15 digits print back exactly as JSON wrote them. */
const EXACT_DIGITS = 15;

/** The CSV lines of a stored chunk of NDJSON rows. */
export function ndjsonToCsv(chunk: Buffer): Buffer {
  // Stored chunks are checked UTF-8; a chunk from before that check takes the string path,
  // which decodes it as it always did.
  if (!isUtf8(chunk)) {
    const lines = splitLines(chunk).map((line) => csvLine(parseRow(line)));
    return Buffer.from(lines.join(""));
  }
  const out = new Output(chunk.length);
  let i = 0;
  while (i < chunk.length) {
    const next = chunk[i] === OPEN_ARRAY ? copyPlainRow(chunk, i, out) : -1;
    if (next >= 0) {
      i = next;
      continue;
    }
    const eol = chunk.indexOf(NEWLINE, i);
    // A stored chunk ends in a newline; like `splitLines`, ignore anything after the last one.
    if (eol < 0) break;
    out.text(csvLine(parseRow(chunk.toString("utf8", i, eol))), chunk.length - eol - 1);
    i = eol + 1;
  }
  return out.bytes();
}

/**
 * Where CSV bytes go. A plain row's CSV is never longer than its NDJSON, so room for the rest
 * of the chunk is room enough; only a line written as text can need more.
 */
class Output {
  buf: Buffer;
  at = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Writes `text`, keeping room for `rest` more bytes of plain rows. */
  text(value: string, rest: number): void {
    const need = this.at + Buffer.byteLength(value) + rest;
    if (need > this.buf.length) {
      const bigger = Buffer.allocUnsafe(need + (need >> 2));
      this.buf.copy(bigger, 0, 0, this.at);
      this.buf = bigger;
    }
    this.at += this.buf.write(value, this.at);
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.at);
  }
}

/**
 * Writes the CSV of the row at `i` when every value in it is plain, and returns the index after
 * its newline; otherwise returns -1, and what it wrote is overwritten by the line's CSV text.
 */
function copyPlainRow(b: Buffer, i: number, out: Output): number {
  const o = out.buf;
  let at = out.at;
  i += 1;
  if (b[i] === CLOSE_ARRAY) {
    if (b[i + 1] !== NEWLINE) return -1;
    o[at] = NEWLINE;
    out.at = at + 1;
    return i + 2;
  }
  for (;;) {
    const c = b[i];
    if (c === QUOTE) {
      // Copied as it is scanned; quotes around it, when it needs them, are put in after.
      const from = at;
      let comma = false;
      for (i += 1; ; i += 1) {
        const d = b[i];
        if (d === QUOTE) break;
        // An escape needs decoding (and `\.` needs quotes); a control character is not JSON.
        if (d === BACKSLASH || d === undefined || d < 0x20) return -1;
        if (d === COMMA) comma = true;
        o[at++] = d;
      }
      i += 1;
      // Quotes for a comma, and for empty text so it differs from NULL; inside, there is no `"`.
      if (comma || at === from) {
        o.copyWithin(from + 1, from, at);
        o[from] = QUOTE;
        o[at + 1] = QUOTE;
        at += 2;
      }
    } else if (c === 0x6e) {
      if (b[i + 1] !== 0x75 || b[i + 2] !== 0x6c || b[i + 3] !== 0x6c) return -1;
      i += 4;
    } else if (c === 0x74 || c === 0x66) {
      const word = c === 0x74 ? TRUE : FALSE;
      for (let k = 0; k < word.length; k += 1, i += 1) {
        if (b[i] !== word[k]) return -1;
        o[at++] = word[k] as number;
      }
    } else if (c === MINUS || (c !== undefined && c >= 0x30 && c <= 0x39)) {
      const end = skipNumber(b, i);
      if (end < 0) return -1;
      if (isExactInteger(b, i, end)) {
        for (; i < end; i += 1) o[at++] = b[i] as number;
      } else {
        // What `String(JSON.parse(…))` prints; JSON's number syntax reads the same with Number.
        const text = String(Number(b.toString("latin1", i, end)));
        if (text.length > end - i) return -1;
        at += o.write(text, at, "latin1");
        i = end;
      }
    } else {
      return -1;
    }
    const d = b[i];
    if (d === COMMA) {
      o[at++] = COMMA;
      i += 1;
    } else if (d === CLOSE_ARRAY && b[i + 1] === NEWLINE) {
      o[at] = NEWLINE;
      out.at = at + 1;
      return i + 2;
    } else {
      return -1;
    }
  }
}

/** An integer JSON writes and JavaScript prints the same way: no fraction, exponent or `-0`. */
function isExactInteger(b: Buffer, i: number, end: number): boolean {
  const negative = b[i] === MINUS;
  const digits = end - i - (negative ? 1 : 0);
  if (digits > EXACT_DIGITS || (negative && digits === 1 && b[i + 1] === 0x30)) return false;
  for (let k = i; k < end; k += 1) {
    const c = b[k];
    if (c === 0x2e || c === 0x65 || c === 0x45) return false;
  }
  return true;
}
