/**
 * CSV result chunks (shared protocol: result chunks, `POST …/result/chunks/:seq`). A driver that
 * reads rows as the database's own text (PostgreSQL's `COPY … TO STDOUT (FORMAT csv)`) sends them
 * as CSV, so the bot stores and serves the exact bytes `psql \copy … csv` writes, without decoding
 * a value on the way. A CSV chunk is:
 *
 *     %csv <kind>,<kind>,…\n      one kind per column (COLUMN_KINDS), empty for no columns
 *     <row>\n …                   RFC 4180 rows, quoted as PostgreSQL's COPY quotes them
 *
 * An NDJSON chunk (one JSON array per line) starts with `[`; a CSV chunk with `%`, so a chunk says
 * what it is. The kinds say how a cell's text becomes a JSON value for the JSON and NDJSON formats
 * (`cellToJson`), giving what the drivers' value conversion gives (agent json-value.ts): numbers
 * stay numbers, booleans booleans, json documents nested, arrays arrays, bytea base64,
 * timestamptz an ISO 8601 instant in UTC. A cell is NULL when its field is empty and unquoted;
 * empty text is `""`.
 */

/** How a column's text cells become JSON values; `x[]` is an array (of any depth) of `x`. */
export const COLUMN_KINDS = [
  "text",
  "number",
  "boolean",
  "json",
  "bytea",
  "timestamptz",
  "text[]",
  "number[]",
  "boolean[]",
  "json[]",
  "bytea[]",
  "timestamptz[]",
] as const;
export type ColumnKind = (typeof COLUMN_KINDS)[number];

/** Longest head line of a CSV chunk, its newline included (thousands of columns). */
export const MAX_CSV_HEAD_BYTES = 64 * 1024;

/** The first bytes of a CSV chunk; the kinds and a newline follow. */
export const CSV_CHUNK_MARK = "%csv ";

const QUOTE = 0x22;
const COMMA = 0x2c;
const NEWLINE = 0x0a;
const CR = 0x0d;
const BACKSLASH = 0x5c;
const DOT = 0x2e;

/** The head line of a CSV chunk whose columns have these kinds. */
export function csvChunkHead(kinds: readonly ColumnKind[]): string {
  return `${CSV_CHUNK_MARK}${kinds.join(",")}\n`;
}

/** Whether a chunk is CSV (it starts with CSV_CHUNK_MARK); NDJSON chunks start with `[`. */
export function isCsvChunk(chunk: Uint8Array): boolean {
  return chunk[0] === 0x25;
}

/**
 * The kinds a CSV chunk's head line names and where its rows start; undefined when the head is
 * missing or names a kind that is not in COLUMN_KINDS.
 */
export function parseCsvChunkHead(chunk: Buffer): { kinds: ColumnKind[]; rowsAt: number } | undefined {
  if (!isCsvChunk(chunk)) return undefined;
  const eol = chunk.indexOf(NEWLINE);
  if (eol < 0 || eol >= MAX_CSV_HEAD_BYTES) return undefined;
  const head = chunk.toString("latin1", 0, eol);
  if (!head.startsWith(CSV_CHUNK_MARK)) return undefined;
  const listed = head.slice(CSV_CHUNK_MARK.length);
  const kinds = listed === "" ? [] : listed.split(",");
  if (!kinds.every(isColumnKind)) return undefined;
  return { kinds, rowsAt: eol + 1 };
}

export function isColumnKind(value: string): value is ColumnKind {
  return (COLUMN_KINDS as readonly string[]).includes(value);
}

/**
 * One CSV field as PostgreSQL's `COPY … CSV` writes a non-NULL value (copyto.c,
 * CopyAttributeOutCSV): quoted when it holds a comma, a quote, CR or LF, when it is empty (so it
 * differs from NULL), or when it is `\.` alone on its line (`single`: the row's only column, so
 * it cannot read as COPY's end-of-data marker); quotes doubled inside. NULL is the empty field.
 */
export function csvText(text: string | null, single: boolean): string {
  if (text === null) return "";
  const quote = text === "" || /[",\r\n]/.test(text) || (single && text === "\\.");
  return quote ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * One non-NULL text as a CSV field for a result that is not PostgreSQL's own COPY text (values
 * from other databases): quoted when it holds a comma, a quote, CR, LF or NUL (the bot takes NUL
 * only inside quotes: a reader's tools may end a string there), when it is empty (so it differs
 * from NULL), or when it is `\.`, whatever the row's width; quotes doubled inside.
 */
export function csvValueText(text: string): string {
  return text === "" || text === "\\." || VALUE_NEEDS_QUOTES.test(text)
    ? `"${text.replaceAll('"', '""')}"`
    : text;
}

const VALUE_NEEDS_QUOTES = /[",\r\n\0]/;

/** A CSV line of texts, as COPY writes a row (or its HEADER line of column names). */
export function csvTextLine(texts: readonly (string | null)[]): string {
  const single = texts.length === 1;
  return `${texts.map((t) => csvText(t, single)).join(",")}\n`;
}

/**
 * Counts the rows of CSV bytes from `at` on, each with exactly `fields` fields and ending in
 * `\n`; -1 when anything is malformed: a quote inside an unquoted field, an unclosed quote, a CR
 * or a NUL outside quotes, a row with another number of fields, bytes after the last newline, or an
 * unquoted `\.` as a one-column row's only field (COPY quotes it: unquoted, `psql \copy … FROM`
 * and COPY FROM STDIN read it as the end of the data). A byte scan that builds nothing (a
 * million rows cost a pass over their bytes): an unquoted field is walked by a byte-class table
 * with every index inside the buffer (a read past the end is a slow path in V8), a quoted one is
 * skipped to its closing quote by the native indexOf; profiled in the bot, this is ~1.5x the
 * speed of the byte-by-byte walk it replaced, and the bot does it for every chunk it stores.
 */
export function countCsvRows(b: Uint8Array, at: number, fields: number): number {
  const n = b.length;
  if (fields === 0) {
    for (let i = at; i < n; i++) if (b[i] !== NEWLINE) return -1;
    return n - at;
  }
  let rows = 0;
  let i = at;
  while (i < n) {
    let f = 1;
    for (;;) {
      if (i >= n) return -1;
      if (b[i] === QUOTE) {
        i = closingQuote(b, i + 1, n);
        if (i < 0) return -1;
        i += 1;
      } else {
        const from = i;
        let c = ORDINARY;
        while (i < n && (c = BYTE_CLASS[b[i] as number] as number) === ORDINARY) i++;
        if (i >= n || c === STRAY) return -1;
        if (fields === 1 && i - from === 2 && b[from] === BACKSLASH && b[from + 1] === DOT) return -1;
      }
      if (i >= n) return -1;
      const sep = b[i];
      i += 1;
      if (sep === COMMA) {
        f += 1;
        continue;
      }
      if (sep === NEWLINE) break;
      return -1;
    }
    if (f !== fields) return -1;
    rows += 1;
  }
  return rows;
}

/** How countCsvRows sees a byte outside quotes: part of the field, its end, or malformed there. */
const ORDINARY = 0;
const ENDS_FIELD = 1;
const STRAY = 2;
const BYTE_CLASS = (() => {
  const table = new Uint8Array(256);
  table[COMMA] = ENDS_FIELD;
  table[NEWLINE] = ENDS_FIELD;
  table[QUOTE] = STRAY;
  table[CR] = STRAY;
  // A reader's tools may end a string at NUL: only a quoted field, whose end is its quote, holds it.
  table[0] = STRAY;
  return table;
})();

/** The index of the quote closing a quoted field whose text starts at `i` (`""` is a quote in it). */
function closingQuote(b: Uint8Array, i: number, n: number): number {
  for (;;) {
    const q = b.indexOf(QUOTE, i);
    if (q < 0) return -1;
    if (q + 1 < n && b[q + 1] === QUOTE) i = q + 2;
    else return q;
  }
}

/**
 * The rows of CSV bytes from `at` on (checked by `countCsvRows` when they arrived), the first
 * `limit` of them: each cell its text, or null for an empty unquoted field. `fields` tells an
 * empty line apart: no fields (a statement without columns) or one NULL.
 */
export function parseCsvRows(b: Buffer, at: number, fields: number, limit = Infinity): (string | null)[][] {
  return parseCsvRowsAt(b, at, fields, limit).rows;
}

/**
 * `parseCsvRows`, also saying where the rows it left off start (`next`, the length of `b` when
 * none are left), so a reader can take a chunk's rows a slice at a time.
 */
export function parseCsvRowsAt(
  b: Buffer,
  at: number,
  fields: number,
  limit: number,
): { rows: (string | null)[][]; next: number } {
  const rows: (string | null)[][] = [];
  const n = b.length;
  let i = at;
  while (i < n && rows.length < limit) {
    const row: (string | null)[] = [];
    if (fields === 0) {
      i += 1;
      rows.push(row);
      continue;
    }
    for (;;) {
      if (b[i] === QUOTE) {
        const parts: string[] = [];
        let from = i + 1;
        i = from;
        for (;;) {
          const q = b.indexOf(QUOTE, i);
          if (q < 0) throw new Error("an unclosed quote in CSV rows");
          parts.push(b.toString("utf8", from, q));
          if (b[q + 1] === QUOTE) {
            parts.push('"');
            from = q + 2;
            i = from;
            continue;
          }
          i = q + 1;
          break;
        }
        row.push(parts.join(""));
      } else {
        const from = i;
        while (i < n && b[i] !== COMMA && b[i] !== NEWLINE) i += 1;
        row.push(i === from ? null : b.toString("utf8", from, i));
      }
      const c = b[i];
      i += 1;
      if (c !== COMMA) break;
    }
    rows.push(row);
  }
  return { rows, next: i };
}

/** A row of cell texts as JSON values, by the columns' kinds (a column without one is text). */
export function cellsToJson(cells: readonly (string | null)[], kinds: readonly ColumnKind[]): unknown[] {
  return cells.map((cell, i) => cellToJson(kinds[i] ?? "text", cell));
}

/**
 * One cell's text as a JSON value. A text its kind cannot read (a server set to another
 * `DateStyle` or `bytea_output`, an array with explicit bounds) stays the server's text.
 */
export function cellToJson(kind: ColumnKind, text: string | null): unknown {
  if (text === null) return null;
  if (kind.endsWith("[]")) {
    const element = kind.slice(0, -2) as ColumnKind;
    const array = parsePgArray(text);
    return array === undefined ? text : mapArray(array, element);
  }
  switch (kind) {
    case "number": {
      const n = text.trim() === "" ? Number.NaN : Number(text);
      return Number.isFinite(n) ? n : text;
    }
    case "boolean":
      return text === "t" ? true : text === "f" ? false : text;
    case "json":
      // A document nested deeper than JSON.stringify can write back (PostgreSQL takes tens of
      // thousands of levels, V8's stringify overflows its stack at a few thousand) stays text.
      if (!isJsonWithin(text, MAX_JSON_DEPTH)) return text;
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text;
      }
    case "bytea":
      return /^\\x(?:[0-9a-fA-F]{2})*$/.test(text)
        ? Buffer.from(text.slice(2), "hex").toString("base64")
        : text;
    case "timestamptz":
      return isoInstant(text) ?? text;
    default:
      return text;
  }
}

/**
 * How deep a json cell may nest to become a JSON value (`cellToJson`); a deeper one is its text.
 * Far below where JSON.stringify overflows V8's stack, so a value read back always writes again.
 */
export const MAX_JSON_DEPTH = 512;

/** PostgreSQL's MAXDIM: no array has more dimensions, so a deeper text is not array_out's. */
export const MAX_ARRAY_DIMENSIONS = 6;

/** Whether JSON text nests at most `max` arrays and objects deep (a byte scan, no recursion). */
function isJsonWithin(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i += 1;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      depth += 1;
      if (depth > max) return false;
    } else if (c === 0x5d || c === 0x7d) {
      depth -= 1;
    }
  }
  return true;
}

/**
 * A row of cell texts as the JSON text of its array, for NDJSON and JSON output. A json cell is
 * written as its own text (PostgreSQL checked it; nothing is parsed into values and written again,
 * so a document of any depth goes through), with CR and LF, which JSON allows only as space
 * between tokens, as spaces so the row stays one line; a json cell that is not one JSON value (a
 * compromised agent's) becomes a JSON string of its text. Every other kind is `cellToJson`'s value.
 */
export function cellsToJsonText(cells: readonly (string | null)[], kinds: readonly ColumnKind[]): string {
  let out = "[";
  for (let i = 0; i < cells.length; i += 1) {
    if (i > 0) out += ",";
    out += cellToJsonText(kinds[i] ?? "text", cells[i] ?? null);
  }
  return `${out}]`;
}

function cellToJsonText(kind: ColumnKind, text: string | null): string {
  if (text === null) return "null";
  if (kind === "json") return jsonDocumentText(text);
  if (kind === "json[]") {
    const array = parsePgArray(text);
    return array === undefined ? JSON.stringify(text) : jsonArrayText(array);
  }
  return JSON.stringify(cellToJson(kind, text));
}

function jsonArrayText(array: PgArray): string {
  const items = array.map((v) =>
    v === null ? "null" : Array.isArray(v) ? jsonArrayText(v) : jsonDocumentText(v),
  );
  return `[${items.join(",")}]`;
}

/** A json document's text as it is when it is one JSON value (JSON.parse does not recurse). */
function jsonDocumentText(text: string): string {
  try {
    JSON.parse(text);
  } catch {
    return JSON.stringify(text);
  }
  return /[\r\n]/.test(text) ? text.replace(/[\r\n]/g, " ") : text;
}

type PgArray = (string | null | PgArray)[];

function mapArray(array: PgArray, kind: ColumnKind): unknown[] {
  return array.map((v) => (Array.isArray(v) ? mapArray(v, kind) : cellToJson(kind, v)));
}

/**
 * A PostgreSQL array's text (`{1,NULL,"a b",{2,3}}`, array_out's form) as nested arrays of
 * element texts, NULL as null; undefined for anything else (explicit bounds `[0:1]={…}`).
 */
export function parsePgArray(s: string): PgArray | undefined {
  let i = 0;
  // At most MAX_ARRAY_DIMENSIONS levels: a deeper text (only a compromised agent sends one)
  // is not an array, so it stays text and never runs this parser out of stack.
  const parse = (depth: number): PgArray | undefined => {
    if (depth > MAX_ARRAY_DIMENSIONS) return undefined;
    i += 1;
    const out: PgArray = [];
    if (s[i] === "}") {
      i += 1;
      return out;
    }
    for (;;) {
      if (s[i] === "{") {
        const inner = parse(depth + 1);
        if (inner === undefined) return undefined;
        out.push(inner);
      } else if (s[i] === '"') {
        let text = "";
        for (i += 1; ;) {
          const c = s[i];
          if (c === undefined) return undefined;
          if (c === "\\") {
            text += s[i + 1] ?? "";
            i += 2;
          } else if (c === '"') {
            i += 1;
            break;
          } else {
            text += c;
            i += 1;
          }
        }
        out.push(text);
      } else {
        const from = i;
        while (i < s.length && s[i] !== "," && s[i] !== "}") i += 1;
        const raw = s.slice(from, i);
        out.push(raw === "NULL" ? null : raw);
      }
      const c = s[i];
      i += 1;
      if (c === "}") return out;
      if (c !== ",") return undefined;
    }
  };
  if (s[0] !== "{") return undefined;
  const array = parse(1);
  return i === s.length ? array : undefined;
}

const TIMESTAMPTZ =
  /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?([+-])(\d\d)(?::(\d\d))?(?::(\d\d))?$/;

/**
 * A timestamptz in PostgreSQL's ISO output (`2024-02-03 04:05:06.5+02`) as an ISO 8601 instant
 * in UTC with milliseconds, what a JavaScript Date prints; `infinity` as "Infinity".
 */
function isoInstant(text: string): string | undefined {
  if (text === "infinity") return "Infinity";
  if (text === "-infinity") return "-Infinity";
  const m = TIMESTAMPTZ.exec(text);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s, frac, sign, oh, om, os] = m;
  const date = new Date(0);
  date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  // The microseconds cut to milliseconds as pg's own parser cuts them.
  const ms = frac === undefined ? 0 : 1000 * Number.parseFloat(`0.${frac}`);
  date.setUTCHours(Number(h), Number(mi), Number(s), ms);
  const offset = (Number(oh) * 3600 + Number(om ?? 0) * 60 + Number(os ?? 0)) * 1000;
  const instant = new Date(date.getTime() - (sign === "-" ? -offset : offset));
  return Number.isNaN(instant.getTime()) ? undefined : instant.toISOString();
}
