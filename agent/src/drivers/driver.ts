/**
 * The one interface every database driver implements. A driver runs exactly one SQL statement,
 * after the session settings that come with it, in its own transaction, read-only for reads,
 * under a statement timeout, and streams the rows it produces to a `RowSink` in batches, with
 * JSON-safe values (json-value.ts), or as CSV rows when the sink takes them: PostgreSQL's own
 * COPY text (postgres-copy.ts), MySQL/MariaDB rows written as CSV (mysql-csv.ts). It waits for the
 * sink before fetching more, so memory stays flat whatever the result's size (backpressure).
 *
 * When the sink wants no more rows, a read stops fetching at once; a write drains its remaining
 * rows (RETURNING) without passing them on, so it can commit. When `signal` aborts, the driver
 * stops the statement on the server (PostgreSQL a protocol CancelRequest, which needs no login;
 * MySQL `KILL QUERY` from a second connection), rolls back and throws `execution.cancelled`.
 *
 * A driver throws only `DbwardError`: `execution.timeout` when the statement timeout fired,
 * `execution.cancelled` after an abort, `execution.failed` for anything else. A failure caused
 * by a lost connection carries `details.connection: true`.
 */
import {
  cellsToJson,
  DbwardError,
  parseCsvRows,
  type CatalogReferences,
  type ColumnKind,
  type OperationClass,
} from "@dbward/shared";
import type { ResultMasking } from "../masking/result-masking.ts";

export interface ExecuteOptions {
  readonly operation: OperationClass;
  readonly statementTimeoutMs: number;
  /** Rows `execute` keeps; `stream` leaves capping to its sink. */
  readonly rowCap: number;
  /** Aborting stops the statement on the server. */
  readonly signal?: AbortSignal;
  /**
   * Session settings to make first, each one reviewed statement (`SqlReview.statements` of kind
   * `session`, i.e. allowlisted `SET`s to literal values), run in order on the statement's
   * connection. The statement timeout is applied again after them, as the shorter of theirs and
   * `statementTimeoutMs`: a request can tighten the agent's limit, never lift it.
   */
  readonly session?: readonly string[];
  /**
   * For reads: the names the statement resolves (the agent's own review), checked against the
   * target's real catalogue inside the read's transaction, after the session settings and
   * before the statement. A name that resolves to anything but a vetted built-in or a function
   * in `trustedFunctions` makes the driver throw `sql.unverified` without running the statement.
   */
  readonly catalogCheck?: CatalogCheck;
  /**
   * For a read: the statement alone, as the agent's review delimited it (no `;`, nothing after
   * it). A driver that wraps the statement to read it faster (PostgreSQL's COPY) wraps this
   * text; without it, `sql` runs as it is.
   */
  readonly readQuery?: string;
  /**
   * The row guard, from the execution token's signed `max_rows`: for a write, the driver checks
   * the rows the statement changed before it commits, and rolls back and throws
   * `execution.row_guard` when there are more, or when the database did not say how many.
   */
  readonly maxAffectedRows?: number;
  /**
   * The token's column masks (masking/result-masking.ts): the driver masks each row by its
   * columns' origins before the sink sees it, and withholds database messages that could quote
   * values. PostgreSQL and MySQL/MariaDB; SQLite jobs with masks are refused before they run.
   */
  readonly masking?: ResultMasking;
}

/** What a driver checks in its target's catalogue before a read (`ExecuteOptions.catalogCheck`). */
export interface CatalogCheck {
  readonly references: CatalogReferences;
  /** `schema.name` of functions this agent's config trusts for this database × environment. */
  readonly trustedFunctions: readonly string[];
}

/**
 * Whole rows of CSV text as the database wrote them (shared result-csv.ts): row k is
 * `bytes[ends[k-1] ?? 0, ends[k])`, its newline included. The bytes are the sink's until it
 * answers; the driver then fills the same buffer again, so a sink that keeps rows copies them.
 */
export interface CsvRows {
  readonly bytes: Buffer;
  readonly ends: readonly number[];
}

/** Where a driver puts rows. */
export interface RowSink {
  /**
   * The column names, once, before any row (also for a statement without rows: empty); with
   * their kinds when the rows will come as CSV.
   */
  columns(names: string[], kinds?: readonly ColumnKind[]): void;
  /** Takes a batch of JSON-safe rows; resolves false when it wants no more rows. */
  rows(batch: unknown[][]): Promise<boolean>;
  /**
   * Takes a batch of CSV rows; resolves false when it wants no more. A sink without it gets the
   * same rows as JSON-safe values (`csvToRows`).
   */
  csv?(batch: CsvRows): Promise<boolean>;
}

/** CSV rows as the JSON-safe values `rows` takes, by the columns' kinds. */
export function csvToRows(batch: CsvRows, kinds: readonly ColumnKind[]): unknown[][] {
  return parseCsvRows(batch.bytes, 0, kinds.length).map((cells) => cellsToJson(cells, kinds));
}

export interface StreamSummary {
  /** Rows changed by a write, when the database reports it. */
  readonly affected_rows?: number;
}

export interface ExecuteResult {
  /** Column names in the order the statement produced them (empty for a statement without rows). */
  readonly columns: string[];
  readonly rows: unknown[][];
  /** Rows returned, never more than the row cap. */
  readonly row_count: number;
  /** True when the statement had more rows than the cap. */
  readonly truncated: boolean;
  /** Rows changed by a write, when the database reports it. */
  readonly affected_rows?: number;
}

export interface Driver {
  /** Runs the statement, streaming its rows into `sink`. */
  stream(sql: string, options: ExecuteOptions, sink: RowSink): Promise<StreamSummary>;
  /** Runs the statement and collects at most `rowCap` rows (doctor checks, small reads). */
  execute(sql: string, options: ExecuteOptions): Promise<ExecuteResult>;
  /** Closes the pool; the driver is unusable afterwards. */
  close(): Promise<void>;
}

/** Rows fetched from the database per round trip, and passed to a sink per batch. */
export const BATCH_ROWS = 1000;

/** Bytes of CSV rows gathered before they are handed to the sink, at the end of a whole row. */
export const BATCH_BYTES = 1024 * 1024;

/** Whether the job was aborted; a function, so a check made earlier does not narrow later ones. */
export function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

export function executionTimeout(timeoutMs: number): DbwardError {
  return new DbwardError(
    "execution.timeout",
    `statement exceeded its ${timeoutMs} ms timeout and was stopped`,
  );
}

export function executionCancelled(): DbwardError {
  return new DbwardError(
    "execution.cancelled",
    "the statement was stopped on the database server and its transaction rolled back",
  );
}

/**
 * The database's own message, with its error code when it has one. Messages from drivers never
 * contain the connection URL; they can contain values from the statement, which is why results
 * and errors only go to the bot.
 */
export function executionFailed(err: unknown, code?: string, connection = false): DbwardError {
  const message = err instanceof Error ? err.message : String(err);
  return new DbwardError(
    "execution.failed",
    code === undefined ? message : `${message} (${code})`,
    connection ? { connection: true } : undefined,
  );
}

/** A write that broke its row guard: what it changed (unknown when the database did not say). */
export interface RowGuardBreach {
  readonly changed: number | undefined;
  readonly max: number;
}

/**
 * The row guard's check, made after a write ran and before its COMMIT: the breach when the
 * write changed more rows than its bound, or did not report a count, since an unknown count
 * cannot be proven within the bound; `undefined` when the write may commit.
 */
export function findRowGuardBreach(
  summary: StreamSummary,
  options: ExecuteOptions,
): RowGuardBreach | undefined {
  const max = options.maxAffectedRows;
  if (max === undefined || options.operation !== "write") return undefined;
  const changed = summary.affected_rows;
  return changed !== undefined && changed <= max ? undefined : { changed, max };
}

/** The `execution.row_guard` failure for a breach, ending with what the rollback achieved. */
export function rowGuardError(
  breach: RowGuardBreach,
  outcome = "rolled back, nothing committed",
  details: Record<string, unknown> = {},
): DbwardError {
  const { changed, max } = breach;
  return new DbwardError(
    "execution.row_guard",
    changed === undefined
      ? `the database did not report how many rows the write changed, so its approved bound of ${max} could not be checked; ${outcome}`
      : `the write changed ${changed} rows, more than its approved bound of ${max}; ${outcome}`,
    { affected_rows: changed ?? null, max_rows: max, ...details },
  );
}

/** Throws `execution.row_guard` (the caller rolls back) when the write broke its bound. */
export function assertWithinRowGuard(summary: StreamSummary, options: ExecuteOptions): void {
  const breach = findRowGuardBreach(summary, options);
  if (breach !== undefined) throw rowGuardError(breach);
}

/** True for a failure that means the database could not be reached or the connection broke. */
export function isConnectionFailure(err: unknown): boolean {
  return err instanceof DbwardError && err.details?.connection === true;
}

/** A sink that keeps at most `rowCap` rows and notes whether more existed. */
export function collectingSink(rowCap: number): RowSink & { result(affected?: number): ExecuteResult } {
  let columns: string[] = [];
  const rows: unknown[][] = [];
  let truncated = false;
  return {
    columns(names) {
      columns = names;
    },
    rows(batch) {
      for (const row of batch) {
        if (rows.length >= rowCap) {
          truncated = true;
          return Promise.resolve(false);
        }
        rows.push(row);
      }
      return Promise.resolve(true);
    },
    result: (affected) => ({
      columns,
      rows,
      row_count: rows.length,
      truncated,
      ...(affected === undefined ? {} : { affected_rows: affected }),
    }),
  };
}

/** `execute` for any driver: `stream` into a collecting sink. */
export async function collect(
  stream: Driver["stream"],
  sql: string,
  options: ExecuteOptions,
): Promise<ExecuteResult> {
  const sink = collectingSink(options.rowCap);
  const summary = await stream(sql, options, sink);
  return sink.result(summary.affected_rows);
}
