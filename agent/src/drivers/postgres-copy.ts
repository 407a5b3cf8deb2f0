/**
 * A PostgreSQL read as `COPY (<statement>) TO STDOUT (FORMAT csv)`: the server writes each row
 * as CSV text, the bytes `psql \copy … csv` writes, and the agent hands them on without decoding
 * a value (result-csv.ts in shared). Profiled against the cursor, this is what lets a million
 * rows move at psql's pace: no per-value parsing, no per-row JSON.
 *
 * Why wrapping the approved statement cannot change what runs:
 * - one pipelined exchange on the extended query protocol, which accepts exactly one statement
 *   per Parse: Parse of the statement alone, Describe of it (its columns and their types, for
 *   the JSON kinds), then Parse, Bind and Execute of the COPY, then Sync. The server parses the
 *   statement on its own first; a text that does not parse alone (one that would close the
 *   parenthesis and add COPY options, `TO PROGRAM` or a file) fails there, and the server skips
 *   everything up to the Sync, so the COPY never runs. A statement that parses alone has every
 *   string and comment closed, so inside the parentheses it is the same tokens;
 * - the statement text is the one the agent's review delimited (no `;`, nothing after it), and
 *   the COPY puts a newline after it, so a trailing `--` comment ends before the parenthesis;
 * - it runs inside the same READ ONLY transaction, after the same session settings, catalogue
 *   check and statement timeout as any read. The timeout bounds the whole COPY: PostgreSQL
 *   counts the time it waits for the agent to take the rows.
 *
 * Rows come one CopyData message each; they are packed into batches of whole rows (at most
 * BATCH_ROWS rows or BATCH_BYTES bytes) and the socket is paused while the sink takes a batch,
 * so memory stays at a batch or two whatever the result's size (backpressure through TCP to the
 * server). A sink that wants no more rows makes the reader cancel the statement on the server
 * (`stop`, a CancelRequest); the rows still arriving are dropped and the cancel's error ends the
 * read normally. A cancel that fails or is not heard cannot turn a read that was rightly cut at
 * its cap into a failure: its error is dropped, and a COPY still running STOP_GRACE_MS after the
 * stop is cut off by closing the connection (the caller then discards the client).
 */
import type { ColumnKind } from "@dbward/shared";
import type pg from "pg";
import { BATCH_BYTES, BATCH_ROWS, type CsvRows } from "./driver.ts";

/** A batch buffer's size: a batch ends past BATCH_BYTES, at the end of a row of any size. */
const BATCH_SIZE = BATCH_BYTES + 64 * 1024;

/** How long a stopped COPY may go on before its connection is closed. */
const STOP_GRACE_MS = 2000;

/** SQLSTATE of a cancelled statement. */
const QUERY_CANCELED = "57014";

/** The first keyword of a statement COPY can wrap: a query that returns rows. */
const QUERY_START = /^(?:select|with|values|table)(?![a-z0-9_$])/i;

/**
 * Whether `text` starts, after spaces, comments and opening parentheses, with SELECT, WITH,
 * VALUES or TABLE: the statements `COPY (…) TO` takes. Anything else (SHOW, EXPLAIN, a write
 * with RETURNING) goes through the cursor.
 */
export function isCopyableQuery(text: string): boolean {
  let i = 0;
  for (;;) {
    const c = text[i];
    if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f" || c === "(") {
      i += 1;
    } else if (c === "-" && text[i + 1] === "-") {
      const eol = text.indexOf("\n", i);
      if (eol < 0) return false;
      i = eol + 1;
    } else if (c === "/" && text[i + 1] === "*") {
      i = skipBlockComment(text, i);
      if (i < 0) return false;
    } else {
      return QUERY_START.test(text.slice(i, i + 7));
    }
  }
}

/** PostgreSQL block comments nest. */
function skipBlockComment(text: string, i: number): number {
  let depth = 0;
  while (i < text.length) {
    if (text.startsWith("/*", i)) {
      depth += 1;
      i += 2;
    } else if (text.startsWith("*/", i)) {
      depth -= 1;
      i += 2;
      if (depth === 0) return i;
    } else {
      i += 1;
    }
  }
  return -1;
}

export interface CopyColumns {
  readonly names: string[];
  readonly kinds: ColumnKind[];
}

export interface CopyHandlers {
  /** The statement's columns, once, before any rows. */
  columns(columns: CopyColumns): void;
  /** A batch of whole rows; resolves false when no more are wanted. */
  rows(batch: CsvRows): Promise<boolean>;
  /** Cancels the statement on the server (a protocol CancelRequest: no second login). */
  stop(): Promise<void>;
}

/** How a COPY ended: `connectionClosed` when a stopped COPY was cut off by closing the socket. */
export interface CopyEnd {
  readonly connectionClosed: boolean;
}

/**
 * Runs the COPY of `statement` on `client` and resolves once the server is ready again: every
 * row delivered, or the sink had enough and the statement was stopped (or, not stopping in
 * time, cut off: the client is then unusable). Rejects with the server's error (a
 * DatabaseError) otherwise.
 */
export function copyQuery(
  client: pg.PoolClient,
  statement: string,
  handlers: CopyHandlers,
): Promise<CopyEnd> {
  return new Promise((resolve, reject) => {
    void client.query(new CopySubmittable(statement, handlers, resolve, reject));
  });
}

/** Column types whose text becomes something else than a JSON string (pg's own parsers). */
const KINDS: Readonly<Record<number, ColumnKind>> = {
  16: "boolean",
  17: "bytea",
  21: "number",
  23: "number",
  26: "number",
  114: "json",
  700: "number",
  701: "number",
  1184: "timestamptz",
  3802: "json",
  199: "json[]",
  1000: "boolean[]",
  1001: "bytea[]",
  1005: "number[]",
  1007: "number[]",
  1021: "number[]",
  1022: "number[]",
  1028: "number[]",
  1185: "timestamptz[]",
  3807: "json[]",
  // Arrays pg splits into strings: text, varchar, char, name, int8, numeric, uuid, and the
  // date, timestamp and interval arrays this driver keeps as text.
  1009: "text[]",
  1015: "text[]",
  1014: "text[]",
  1003: "text[]",
  1016: "text[]",
  1231: "text[]",
  2951: "text[]",
  1182: "text[]",
  1115: "text[]",
  1187: "text[]",
};

export function kindOfType(oid: number): ColumnKind {
  return KINDS[oid] ?? "text";
}

interface Field {
  readonly name: string;
  readonly dataTypeID: number;
}

/**
 * pg runs a "submittable" (an object with `submit`) as the connection's active query and hands it
 * the server's messages, as pg-cursor does; the handlers below are the ones pg calls.
 */
class CopySubmittable {
  private connection: pg.Connection | undefined;
  private batch: Buffer = Buffer.allocUnsafe(0);
  private used = 0;
  private ends: number[] = [];
  /** A batch the sink has not answered yet; the socket is paused meanwhile. */
  private waiting = false;
  /** A batch buffer the sink has answered for, for the next batch. */
  private spare: Buffer | undefined;
  private pending: Promise<void> = Promise.resolve();
  private stopped: Promise<void> | undefined;
  private stopping = false;
  private failed: Error | undefined;
  private done = false;
  private grace: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly statement: string,
    private readonly handlers: CopyHandlers,
    private readonly resolve: (end: CopyEnd) => void,
    private readonly reject: (err: Error) => void,
  ) {}

  submit(connection: pg.Connection): void {
    this.connection = connection;
    const con = connection as unknown as Protocol;
    con.parse({ text: this.statement });
    con.describe({ type: "S", name: "" });
    con.parse({ text: `COPY (\n${this.statement}\n) TO STDOUT (FORMAT csv)` });
    con.bind({});
    con.execute({ portal: "", rows: 0 });
    con.sync();
  }

  handleRowDescription(msg: { fields: Field[] }): void {
    this.handlers.columns({
      names: msg.fields.map((f) => f.name),
      kinds: msg.fields.map((f) => kindOfType(f.dataTypeID)),
    });
  }

  handleCopyData(msg: { chunk: Buffer }): void {
    if (this.stopping || this.failed !== undefined) return;
    const row = msg.chunk;
    // The parser's buffer is reused: the row's bytes are copied at once.
    if (this.batch.length - this.used < row.length) this.grow(row.length);
    row.copy(this.batch, this.used);
    this.used += row.length;
    this.ends.push(this.used);
    if (!this.waiting && (this.ends.length >= BATCH_ROWS || this.used >= BATCH_BYTES)) this.flush();
  }

  handleCommandComplete(): void {
    // The last rows go to the sink before the read is over.
  }

  handleReadyForQuery(): void {
    void this.finish();
  }

  handleError(err: Error): void {
    // After a stop asked for, the cancel's own error is the normal end.
    const cancelled = this.stopping && (err as { code?: unknown }).code === QUERY_CANCELED;
    void this.settle(cancelled ? undefined : err);
  }

  handleEmptyQuery(): void {}
  handleDataRow(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(): void {}

  private grow(atLeast: number): void {
    const size = Math.max(BATCH_SIZE, this.used + atLeast);
    const spare = this.spare;
    this.spare = undefined;
    const bigger = spare !== undefined && spare.length >= size ? spare : Buffer.allocUnsafe(size);
    this.batch.copy(bigger, 0, 0, this.used);
    this.batch = bigger;
  }

  /** Hands the gathered rows to the sink, with the socket paused until it answers. */
  private flush(): void {
    const full = this.batch;
    const batch: CsvRows = { bytes: full.subarray(0, this.used), ends: this.ends };
    this.batch = Buffer.allocUnsafe(0);
    this.used = 0;
    this.ends = [];
    this.waiting = true;
    this.stream()?.pause();
    this.pending = this.handlers.rows(batch).then(
      (more) => {
        // The sink has taken the rows (CsvRows: they are the driver's again): the buffer is reused.
        if (full.length === BATCH_SIZE) this.spare = full;
        this.answered(more ? undefined : "enough");
      },
      (err: unknown) => this.answered(err instanceof Error ? err : new Error(String(err))),
    );
  }

  private answered(stop: "enough" | Error | undefined): void {
    this.waiting = false;
    // A read already over (the server failed it) must not cancel whatever runs next.
    if (this.done) return;
    if (stop instanceof Error) this.failed ??= stop;
    if (stop !== undefined) this.stop();
    this.stream()?.resume();
  }

  private stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    // The read ends at its cap either way: a cancel that cannot be delivered is no failure.
    this.stopped = this.handlers.stop().catch(() => undefined);
    this.grace = setTimeout(() => this.cutOff(), STOP_GRACE_MS);
  }

  /** The COPY goes on after its stop (the cancel was lost): the connection is closed under it. */
  private cutOff(): void {
    if (this.done) return;
    this.closed = true;
    (this.connection as unknown as { stream?: { destroy(): void } } | undefined)?.stream?.destroy();
    void this.settle(undefined);
  }

  /** All rows are in: the rest go to the sink, then the read is over. */
  private async finish(): Promise<void> {
    await this.pending;
    if (!this.stopping && this.failed === undefined && this.ends.length > 0) {
      this.flush();
      await this.pending;
    }
    await this.settle(this.failed);
  }

  /**
   * Ends the read; a cancel sent for a stop has landed first, so it cannot hit the statement
   * after this one.
   */
  private async settle(err: Error | undefined): Promise<void> {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.grace);
    if (!this.closed) this.stream()?.resume();
    await this.stopped;
    if (err === undefined && this.failed === undefined) this.resolve({ connectionClosed: this.closed });
    else this.reject(err ?? (this.failed as Error));
  }

  private stream(): { pause(): void; resume(): void } | undefined {
    return (this.connection as unknown as { stream?: { pause(): void; resume(): void } } | undefined)?.stream;
  }
}

/** The parts of pg's Connection a submittable writes with; @types/pg does not declare them. */
interface Protocol {
  parse(query: { text: string }): void;
  describe(msg: { type: "S" | "P"; name: string }): void;
  bind(config: object): void;
  execute(config: { portal: string; rows: number }): void;
  sync(): void;
}
