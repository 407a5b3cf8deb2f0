/**
 * MySQL/MariaDB rows as CSV chunk rows (shared result-csv.ts), for a read whose every column is
 * of a type whose values mysql2 gives as text, numbers or bytes. Profiled at a million rows, the
 * agent spent most of its time encoding each row as a JSON array, and the bot as much again
 * turning those arrays back into CSV for the download; as CSV the bot stores and serves the rows
 * as they came, as it does PostgreSQL's COPY.
 *
 * The bytes are the ones the NDJSON path gave once the bot turned them into CSV (bot
 * ndjson-csv.ts `csvField`), and the kinds make the JSON formats give the values the NDJSON path
 * gave (agent json-value.ts): a number column is `number`, every other allowed column `text`
 * (BIGINT and DECIMAL come as strings so no digit is lost, dates as the server's text, binary
 * values as base64). A column of any type not listed here (JSON, GEOMETRY, VECTOR, one this
 * file does not know) sends the whole result as values instead: a type is allowed by being
 * listed, never by not being refused.
 */
import type { FieldPacket } from "mysql2";
import { csvValueText, DbwardError, type ColumnKind } from "@dbward/shared";
import type { CsvRows } from "./driver.ts";

/** mysql2's column type codes (mysql2/lib/constants/types.js) with the kind of their values. */
const KIND_OF_TYPE: ReadonlyMap<number, ColumnKind> = new Map<number, ColumnKind>([
  // TINYINT, SMALLINT, INT, MEDIUMINT, YEAR: JavaScript numbers (parseLengthCodedIntNoBigCheck).
  [0x01, "number"],
  [0x02, "number"],
  [0x03, "number"],
  [0x09, "number"],
  [0x0d, "number"],
  // FLOAT, DOUBLE: parseFloat of the server's text.
  [0x04, "number"],
  [0x05, "number"],
  // BIGINT and DECIMAL: strings (supportBigNumbers + bigNumberStrings, no decimalNumbers).
  [0x08, "text"],
  [0x00, "text"],
  [0xf6, "text"],
  // NULL-typed columns (SELECT NULL): null.
  [0x06, "text"],
  // Dates and times: the server's text (dateStrings).
  [0x07, "text"],
  [0x0a, "text"],
  [0x0b, "text"],
  [0x0c, "text"],
  [0x0e, "text"],
  // Strings, text, ENUM, SET, BIT and binary strings: strings, or Buffers for the binary charset.
  [0x0f, "text"],
  [0x10, "text"],
  [0xf7, "text"],
  [0xf8, "text"],
  [0xf9, "text"],
  [0xfa, "text"],
  [0xfb, "text"],
  [0xfc, "text"],
  [0xfd, "text"],
  [0xfe, "text"],
]);

/**
 * The kinds of the columns when the rows can go as CSV; undefined when any column is of a type
 * not listed, or is MariaDB JSON (sent as LONGTEXT, marked only in the extended metadata, and
 * parsed by mysql2 into a value).
 */
export function mysqlCsvKinds(fields: readonly FieldPacket[]): ColumnKind[] | undefined {
  const kinds: ColumnKind[] = [];
  for (const field of fields) {
    if (field.extendedFormat !== undefined) return undefined;
    const kind = field.columnType === undefined ? undefined : KIND_OF_TYPE.get(field.columnType);
    if (kind === undefined) return undefined;
    kinds.push(kind);
  }
  return kinds;
}

/**
 * One value as a CSV field, as the bot's `csvField` writes the JSON value the NDJSON path sent
 * (both by `csvValueText`): NULL is the empty field. Any other JavaScript type than these means
 * mysql2 gave what this file did not expect for the column's type: the read fails rather than
 * guess.
 */
function csvField(value: unknown, column: number): string {
  if (value === null) return "";
  let text: string;
  if (typeof value === "string") text = value;
  else if (typeof value === "number") return String(value);
  else if (Buffer.isBuffer(value)) text = value.toString("base64");
  else {
    throw new DbwardError(
      "execution.failed",
      `column ${column + 1} gave a value of an unexpected type (${typeof value}) for its column type; the read was stopped`,
    );
  }
  return csvValueText(text);
}

/**
 * Rows gathered as CSV text, then written into one buffer per batch: a string per row and one
 * write per batch cost about half of a JSON.stringify and a write per row.
 */
export class MysqlCsvBatch {
  private text = "";
  /** The text's length after each row. */
  private readonly lengths: number[] = [];
  private buffer = Buffer.alloc(0);

  get rows(): number {
    return this.lengths.length;
  }

  /** UTF-16 units gathered: at most a third of the bytes they take. */
  get size(): number {
    return this.text.length;
  }

  push(row: readonly unknown[]): void {
    let line = row.length === 0 ? "" : csvField(row[0], 0);
    for (let i = 1; i < row.length; i += 1) line += `,${csvField(row[i], i)}`;
    this.text += `${line}\n`;
    this.lengths.push(this.text.length);
  }

  /** The rows gathered so far, which the batch forgets; the bytes are reused by the next take. */
  take(): CsvRows {
    const text = this.text;
    const most = text.length * 3;
    if (this.buffer.length < most) this.buffer = Buffer.allocUnsafe(Math.max(most, 64 * 1024));
    const written = this.buffer.write(text, 0);
    // A row's bytes are its UTF-16 units when every unit is ASCII, which the total shows.
    const ends = written === text.length ? this.lengths.slice() : byteEnds(text, this.lengths);
    this.clear();
    return { bytes: this.buffer.subarray(0, written), ends };
  }

  clear(): void {
    this.text = "";
    this.lengths.length = 0;
  }
}

function byteEnds(text: string, lengths: readonly number[]): number[] {
  const ends: number[] = [];
  let from = 0;
  let bytes = 0;
  for (const to of lengths) {
    bytes += Buffer.byteLength(text.slice(from, to));
    ends.push(bytes);
    from = to;
  }
  return ends;
}
