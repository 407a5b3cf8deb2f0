/**
 * MySQL and MariaDB driver (mysql2). Each execution:
 * - runs in its own transaction, `START TRANSACTION READ ONLY` for reads, so the server refuses
 *   a write smuggled into a read; reads end in ROLLBACK, writes in COMMIT (DDL commits
 *   implicitly in MySQL and MariaDB: it cannot be rolled back);
 * - sets the session statement timeout first: MariaDB `max_statement_time` (seconds, every
 *   statement); MySQL `max_execution_time` (milliseconds, SELECT only). A client-side timeout a
 *   little later is the backstop: it drops the connection, and the server rolls back. Both
 *   count the time the server spends sending rows, so a large result needs a timeout long
 *   enough to transfer it. The request's reviewed session settings, if any, run next, and the
 *   timeout is set again to the shorter of theirs and the agent's;
 * - accepts exactly one statement (no multi-statements, no LOCAL INFILE);
 * - streams rows in batches and pauses the connection while the sink works (backpressure), as
 *   CSV rows when every column's type allows it and no column is masked (mysql-csv.ts); a
 *   read the sink has had enough of stops by dropping the connection, a write drains its rows
 *   (RETURNING) so it can commit;
 * - on abort, sends `KILL QUERY <thread id>` from a second, short-lived connection; the server
 *   stops the statement (ER_QUERY_INTERRUPTED), the transaction is rolled back and the
 *   connection goes back to the pool;
 * - resets the session (COM_RESET_CONNECTION) before the connection goes back to the pool, so no
 *   session setting leaks from one job to the next;
 * - listens for 'error' on every connection for its whole life. mysql2 tells a streaming query
 *   nothing when its connection dies (KILL CONNECTION, a server restart, a TCP cut): it emits
 *   'error' on the connection instead, and its pool listens only once. So a job fails at once
 *   with that error, marked as a lost connection, instead of waiting for its timeout; an idle
 *   connection's error goes to `onIdleError`, in the form a job would have failed with, so the
 *   agent marks the database degraded at once; no error is ever left unheard to end the agent;
 * - for a read with a catalogue check, looks up the functions it calls inside its read-only
 *   transaction, just before the statement: a name that resolves to a stored function or
 *   procedure (`information_schema.routines`) or a loadable function (`mysql.func`, when this
 *   user may read it) and is not trusted by config refuses the read with `sql.unverified`.
 *   Unqualified, such a name only reaches a stored function when it is no built-in of this
 *   server (MySQL 8-only names on MariaDB and the reverse); a stored function that merely
 *   shares a built-in's name is refused too, the safe side of that ambiguity.
 */
import mysql, { type FieldPacket, type OkPacket, type PoolConnection, type RowDataPacket } from "mysql2";
import { DbwardError, type ColumnKind } from "@dbward/shared";
import type { DatabaseConfig } from "../config.ts";
import {
  findRowGuardBreach,
  rowGuardError,
  BATCH_BYTES,
  BATCH_ROWS,
  collect,
  executionCancelled,
  executionFailed,
  executionTimeout,
  isAborted,
  type CatalogCheck,
  type Driver,
  type ExecuteOptions,
  type RowSink,
  type StreamSummary,
} from "./driver.ts";
import { rowToJson } from "./json-value.ts";
import { MysqlCsvBatch, mysqlCsvKinds } from "./mysql-csv.ts";
import { assertMysqlMaskedColumnsExist, mysqlOrigins, type MysqlQuery } from "../masking/mysql-origins.ts";
import { redactedFailure } from "../masking/redact-error.ts";
import { rowMasker, type RowMasker } from "../masking/result-masking.ts";
import { serverCanceller, type ServerCanceller } from "./server-canceller.ts";

/** MariaDB ER_STATEMENT_TIMEOUT and MySQL ER_QUERY_TIMEOUT. */
const TIMEOUT_ERRNOS = new Set([1969, 3024]);
export const CLIENT_TIMEOUT_GRACE_MS = 2000;

export type Flavour = "mariadb" | "mysql";

interface Streamed {
  readonly summary: StreamSummary;
  /** False when the connection was dropped to stop a read early. */
  readonly connectionOpen: boolean;
}

/**
 * The pool every job of one database shares: one statement per query, no LOCAL INFILE. Its
 * caller listens for 'error' on each connection (the pool's 'connection' event): an idle
 * connection's error with no listener would end the process.
 */
export function createMysqlPool(db: DatabaseConfig): mysql.Pool {
  return mysql.createPool({
    uri: db.url.reveal(),
    connectionLimit: 4,
    connectTimeout: 10_000,
    supportBigNumbers: true,
    bigNumberStrings: true,
    // DATETIME has no time zone: the server's text is the only faithful form.
    dateStrings: true,
    multipleStatements: false,
    flags: ["-LOCAL_FILES"],
  });
}

export function createMysqlDriver(db: DatabaseConfig, onIdleError: (err: Error) => void): Driver {
  const pool = createMysqlPool(db);
  /** The first error of each checked-out connection; idle ones have no entry. */
  const checkedOut = new WeakMap<PoolConnection, { error?: Error }>();
  const reported = new WeakSet<PoolConnection>();
  /** Once per connection: mysql2 can echo a first error (PROTOCOL_CONNECTION_LOST after it). */
  const idleError = (conn: PoolConnection, err: Error): void => {
    if (reported.has(conn)) return;
    reported.add(conn);
    onIdleError(executionFailed(err, errorCode(err), true));
  };
  pool.on("connection", (conn) => {
    conn.on("error", (err: Error) => {
      const job = checkedOut.get(conn);
      // Idle: mysql2 drops the connection from the pool; the health hears the server's words.
      if (job === undefined) idleError(conn, err);
      else job.error ??= err;
    });
  });
  /**
   * After the job's last statement: the session is reset (COM_RESET_CONNECTION) before the pool
   * gets the connection back. mysql2 hands an error during the reset to its callback only, not
   * to 'error': a connection that breaks then has broken while no job used it, and is reported
   * so; one the server merely would not reset is not reused.
   */
  const resetAndRelease = (conn: PoolConnection): void =>
    conn.reset((err) => {
      if (!err) {
        conn.release();
        return;
      }
      conn.destroy();
      if (isBroken(err)) idleError(conn, err);
    });
  let flavour: Flavour | undefined;
  const stream: Driver["stream"] = async (sql, options, sink) => {
    if (isAborted(options.signal)) throw executionCancelled();
    const conn = await getConnection(pool);
    const job: { error?: Error } = {};
    checkedOut.set(conn, job);
    try {
      flavour ??= await detectFlavour(conn);
    } catch (err) {
      checkedOut.delete(conn);
      conn.destroy();
      throw failure(failureCause(err, job.error));
    }
    const canceller = serverCanceller(options.signal, () => killQuery(db, conn.threadId));
    const held: Held = {
      conn,
      lost: () => job.error,
      release: () => resetAndRelease(conn),
      // The masks' origin lookup cannot use the job's connection while its rows stream.
      lookup: (text, values) => lookupOn(pool, text, values),
    };
    try {
      return await executeOn(held, flavour, sql, options, sink, canceller);
    } finally {
      checkedOut.delete(conn);
      canceller.dispose();
    }
  };
  return {
    stream,
    execute: (sql, options) => collect(stream, sql, options),
    close: () => new Promise<void>((resolve, reject) => pool.end((err) => (err ? reject(err) : resolve()))),
  };
}

/** A connection a job holds. */
interface Held {
  readonly conn: PoolConnection;
  /** The connection's first error while the job has held it. */
  lost(): Error | undefined;
  /** Resets the session and gives the connection back to the pool. */
  release(): void;
  /** One query on another pooled connection. */
  readonly lookup: MysqlQuery;
}

async function lookupOn(
  pool: mysql.Pool,
  text: string,
  values: unknown[],
): Promise<Record<string, unknown>[]> {
  const conn = await getConnection(pool);
  try {
    return rowsOf(await run(conn, text, values));
  } finally {
    conn.release();
  }
}

async function executeOn(
  { conn, lost, release, lookup }: Held,
  flavour: Flavour,
  sql: string,
  options: ExecuteOptions,
  sink: RowSink,
  canceller: ServerCanceller,
): Promise<StreamSummary> {
  let streamed: Streamed;
  try {
    streamed = await inTransaction(conn, flavour, sql, options, sink, canceller, lookup);
  } catch (thrown) {
    await canceller.settled();
    const err = failureCause(thrown, lost());
    const healthy =
      !isBroken(err) &&
      (await run(conn, "ROLLBACK").then(
        () => true,
        () => false,
      ));
    if (healthy) release();
    else conn.destroy();
    if (err instanceof DbwardError) throw err;
    if (isTimeout(err) && (!isAborted(options.signal) || canceller.failed))
      throw executionTimeout(options.statementTimeoutMs);
    if (isAborted(options.signal) && !isBroken(err)) throw executionCancelled();
    // With masks on, a message that could quote a stored value never leaves (redact-error.ts).
    if (options.masking !== undefined) throw redactedFailure(failure(err), "mysql", errorCode(err), sql);
    throw failure(err);
  }
  // After commit a failed reset must not fail the job; the connection is just not reused.
  if (streamed.connectionOpen) release();
  return streamed.summary;
}

async function inTransaction(
  conn: PoolConnection,
  flavour: Flavour,
  sql: string,
  options: ExecuteOptions,
  sink: RowSink,
  canceller: ServerCanceller,
  lookup: MysqlQuery,
): Promise<Streamed> {
  const isRead = options.operation === "read";
  const ms = options.statementTimeoutMs;
  if (flavour === "mariadb") await run(conn, "SET SESSION max_statement_time = ?", [ms / 1000]);
  else await run(conn, "SET SESSION max_execution_time = ?", [ms]);
  if (options.session !== undefined && options.session.length > 0) {
    for (const setting of options.session) await run(conn, setting);
    // 0 means no limit: keep the shorter of the request's setting and the agent's.
    if (flavour === "mariadb") {
      await run(
        conn,
        "SET SESSION max_statement_time = LEAST(IF(@@session.max_statement_time = 0, ?, @@session.max_statement_time), ?)",
        [ms / 1000, ms / 1000],
      );
    } else {
      await run(
        conn,
        "SET SESSION max_execution_time = LEAST(IF(@@session.max_execution_time = 0, ?, @@session.max_execution_time), ?)",
        [ms, ms],
      );
    }
  }
  await run(conn, isRead ? "START TRANSACTION READ ONLY" : "START TRANSACTION");
  if (isRead && options.catalogCheck !== undefined) await checkCatalog(conn, options.catalogCheck);
  const masking = options.masking;
  if (masking !== undefined)
    await assertMysqlMaskedColumnsExist(
      (text, values) => run(conn, text, values).then(rowsOf),
      masking.masks,
    );
  const masker =
    masking === undefined
      ? undefined
      : async (fields: FieldPacket[]): Promise<RowMasker> =>
          rowMasker(masking, await mysqlOrigins(lookup, sql, fields));
  const streamed = await canceller.during(() => streamRows(conn, sql, options, sink, masker));
  if (streamed.connectionOpen) {
    if (isAborted(options.signal)) throw executionCancelled();
    if (!isRead) await guardRows(conn, streamed.summary, options);
    await run(conn, isRead ? "ROLLBACK" : "COMMIT");
  }
  return streamed;
}

/**
 * The row guard on MySQL/MariaDB: over its bound, the write is rolled back here, and the error
 * says so when the server warns (1196) that changes to non-transactional tables (MyISAM) could
 * not be undone, since there the guard cannot keep its promise.
 */
async function guardRows(
  conn: PoolConnection,
  summary: StreamSummary,
  options: ExecuteOptions,
): Promise<void> {
  const breach = findRowGuardBreach(summary, options);
  if (breach === undefined) return;
  await run(conn, "ROLLBACK");
  const warnings = (await run(conn, "SHOW WARNINGS")) as { Code?: number }[];
  if (!warnings.some((w) => Number(w.Code) === 1196)) throw rowGuardError(breach);
  throw rowGuardError(
    breach,
    "rolled back, but the server reports that changes to non-transactional tables (such as MyISAM) could not be undone",
    { non_transactional: true },
  );
}

/** Streams the first result set with columns (a CALL can return several) and a write's count. */
function streamRows(
  conn: PoolConnection,
  sql: string,
  options: ExecuteOptions,
  sink: RowSink,
  masker?: (fields: FieldPacket[]) => Promise<RowMasker>,
): Promise<Streamed> {
  return new Promise((resolve, reject) => {
    let batch: unknown[][] = [];
    /** Set when the first result set's rows go to the sink as CSV (mysql-csv.ts). */
    let csv: MysqlCsvBatch | undefined;
    /** Settles once the first result set's column origins are known; rows wait for it. */
    let masked: Promise<RowMasker> = Promise.resolve((row) => row);
    let wanted = true;
    let settled = false;
    let collecting: boolean | undefined;
    let columnsSent = false;
    let affected: number | undefined;
    const sendColumns = (names: string[], kinds?: readonly ColumnKind[]): void => {
      if (!columnsSent) sink.columns(names, kinds);
      columnsSent = true;
    };
    const settle = (connectionOpen: boolean): void => {
      settled = true;
      options.signal?.removeEventListener("abort", onAbort);
      conn.removeListener("error", onLost);
      resolve({ summary: affected === undefined ? {} : { affected_rows: affected }, connectionOpen });
    };
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener("abort", onAbort);
      conn.removeListener("error", onLost);
      reject(err);
    };
    // After an abort rows are no longer wanted; resuming lets the server's error arrive.
    const onAbort = (): void => {
      wanted = false;
      conn.resume();
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const pending = (): number => csv?.rows ?? batch.length;
    const deliver = (): Promise<boolean> => {
      if (csv !== undefined && sink.csv !== undefined) return sink.csv(csv.take());
      const rows = batch;
      batch = [];
      return masked.then((mask) => sink.rows(rows.map(mask)));
    };
    const flush = (last: boolean): Promise<void> => {
      if (!wanted || pending() === 0) {
        batch = [];
        csv?.clear();
        return Promise.resolve();
      }
      return deliver().then((more) => {
        wanted = more && !isAborted(options.signal);
        if (!wanted && !last && options.operation === "read" && !isAborted(options.signal)) {
          // A read-only transaction has nothing to lose: dropping the connection stops the server.
          drop();
          settle(false);
        }
      });
    };
    const timeout = options.statementTimeoutMs + CLIENT_TIMEOUT_GRACE_MS;
    const query = conn.query({ sql, rowsAsArray: true, timeout });
    // mysql2 gives a query without a callback no word of its connection dying: only this does.
    // The query then never ends, so its client-side timer must go too, or it holds the process.
    const onLost = (err: unknown): void => {
      stopQueryTimer(query);
      fail(err);
    };
    conn.on("error", onLost);
    // A query whose connection is dropped never ends either: its timer would hold the process
    // for the whole statement timeout.
    const drop = (): void => {
      stopQueryTimer(query);
      conn.destroy();
    };
    query.on("fields", (fields: FieldPacket[] | undefined) => {
      if (fields === undefined) return;
      collecting = collecting === undefined;
      if (collecting && masker !== undefined) {
        masked = masker(fields);
        // Seen when a flush awaits it; the query's end or error settles the job meanwhile.
        masked.catch(() => undefined);
      }
      if (!collecting) return;
      // Masked rows are masked as values, by their columns' origins.
      const kinds = masker === undefined && sink.csv !== undefined ? mysqlCsvKinds(fields) : undefined;
      if (kinds !== undefined) csv = new MysqlCsvBatch();
      sendColumns(
        fields.map((f) => f.name),
        kinds,
      );
    });
    query.on("result", (row: RowDataPacket | OkPacket | unknown[]) => {
      if (settled) return;
      if (!Array.isArray(row)) {
        if ("affectedRows" in row && typeof row.affectedRows === "number") affected ??= row.affectedRows;
        return;
      }
      if (collecting !== true || !wanted) return;
      if (csv === undefined) {
        batch.push(rowToJson(row));
        if (batch.length < BATCH_ROWS) return;
      } else {
        try {
          csv.push(row);
        } catch (err) {
          drop();
          fail(err);
          return;
        }
        if (csv.rows < BATCH_ROWS && csv.size < BATCH_BYTES) return;
      }
      conn.pause();
      flush(false).then(
        () => {
          if (!settled) conn.resume();
        },
        (err: unknown) => {
          // The statement is still running on a paused connection: only dropping it stops it.
          drop();
          fail(err);
        },
      );
    });
    query.on("error", fail);
    query.on("end", () => {
      if (settled) return;
      sendColumns([]);
      flush(true).then(() => {
        if (!settled) settle(true);
      }, fail);
    });
  });
}

/** mysql2's timer behind a query's `timeout`; its types do not declare it. */
export function stopQueryTimer(query: object): void {
  const timer: unknown = "queryTimeout" in query ? query.queryTimeout : undefined;
  if (timer instanceof Object) clearTimeout(timer as NodeJS.Timeout);
}

/** ER_TABLEACCESS_DENIED_ERROR, ER_NO_SUCH_TABLE: `mysql.func` is not readable here. */
const FUNC_UNREADABLE = new Set([1142, 1146]);

/** Throws `sql.unverified` when a called name resolves to an untrusted routine or a loadable function. */
async function checkCatalog(conn: PoolConnection, check: CatalogCheck): Promise<void> {
  const names = [...new Set(check.references.functions.map((n) => n.toLowerCase()))];
  if (names.length === 0) return;
  const trusted = new Set(check.trustedFunctions.map((n) => n.toLowerCase()));
  const untrustedQualified = names.find((n) => n.includes(".") && !trusted.has(n));
  if (untrustedQualified !== undefined) {
    throw unverified(`${untrustedQualified}() is a stored function this agent does not trust`);
  }
  const plain = names.filter((n) => !n.includes("."));
  if (plain.length === 0) return;
  const routines = await run(
    conn,
    `SELECT routine_schema AS s, routine_name AS n, routine_type AS t FROM information_schema.routines
      WHERE routine_schema = DATABASE() AND LOWER(routine_name) IN (?)`,
    [plain],
  );
  for (const row of rowsOf(routines)) {
    const qualified = `${String(row["s"])}.${String(row["n"])}`.toLowerCase();
    if (!trusted.has(qualified)) {
      throw unverified(
        `${String(row["n"]).toLowerCase()}() resolves to the stored ${String(row["t"]).toLowerCase()} ${qualified} on this database, which this agent does not trust`,
      );
    }
  }
  let udfs: unknown;
  try {
    udfs = await run(conn, "SELECT name AS n FROM mysql.func WHERE LOWER(name) IN (?)", [plain]);
  } catch (err) {
    const errno = typeof err === "object" && err !== null && "errno" in err ? err.errno : undefined;
    if (typeof errno === "number" && FUNC_UNREADABLE.has(errno)) return;
    throw err;
  }
  const udf = rowsOf(udfs)[0];
  if (udf !== undefined) {
    throw unverified(`${String(udf["n"]).toLowerCase()}() is a loadable function (UDF) on this server`);
  }
}

function unverified(why: string): DbwardError {
  return new DbwardError(
    "sql.unverified",
    `${why}; the read was not run. An administrator can trust a stored function for this database (trusted_functions), or the request can go through approval as a write`,
  );
}

function rowsOf(result: unknown): Record<string, unknown>[] {
  return Array.isArray(result)
    ? result.filter((r): r is Record<string, unknown> => typeof r === "object" && r !== null)
    : [];
}

/** Stops whatever the connection's thread runs now, from a second, short-lived connection. */
async function killQuery(db: DatabaseConfig, threadId: number): Promise<void> {
  const killer = mysql.createConnection({ uri: db.url.reveal(), connectTimeout: 5000 });
  // A connection error after connect would otherwise be an unhandled 'error' event.
  killer.on("error", () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      killer.query("KILL QUERY ?", [threadId], (err) => (err ? reject(err) : resolve()));
    });
  } finally {
    killer.destroy();
  }
}

/** MariaDB or MySQL, from the server's version string. */
export async function detectFlavour(conn: PoolConnection): Promise<Flavour> {
  const rows = await run(conn, "SELECT VERSION() AS v");
  const first: unknown = Array.isArray(rows) ? rows[0] : undefined;
  const version = typeof first === "object" && first !== null && "v" in first ? first.v : undefined;
  return typeof version === "string" && version.includes("MariaDB") ? "mariadb" : "mysql";
}

/** A pooled connection; a failure to get one is `execution.failed`, marked as a lost connection. */
export function getConnection(pool: mysql.Pool): Promise<PoolConnection> {
  return new Promise((resolve, reject) => {
    pool.getConnection((err, conn) =>
      err ? reject(executionFailed(err, errorCode(err), true)) : resolve(conn),
    );
  });
}

/** Without values the text goes to the server as it is: no `?` in it is ever substituted. */
export function run(conn: PoolConnection, sql: string, values: unknown[] = []): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const done = (err: unknown, rows: unknown): void => (err ? reject(err) : resolve(rows));
    if (values.length === 0) conn.query(sql, done);
    else conn.query(sql, values, done);
  });
}

/**
 * What the job failed with: the server's own answer (an error with an errno) or the agent's own
 * refusal wins; otherwise the connection's first error, of which later ones ("Can't add new
 * command when connection is in closed state") are only echoes.
 */
function failureCause(thrown: unknown, lost: Error | undefined): unknown {
  if (lost === undefined || thrown instanceof DbwardError) return thrown;
  const errno = typeof thrown === "object" && thrown !== null && "errno" in thrown ? thrown.errno : undefined;
  return typeof errno === "number" ? thrown : lost;
}

/** `execution.failed` with the server's code, marked as a lost connection when it broke. */
export function failure(err: unknown): DbwardError {
  return executionFailed(err, errorCode(err), isBroken(err) && !isTimeout(err));
}

/** The mysql2 error code (`ER_NO_SUCH_TABLE`, `PROTOCOL_CONNECTION_LOST`), if any. */
export function errorCode(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err && typeof err.code === "string"
    ? err.code
    : undefined;
}

/** mysql2 marks errors after which the connection is unusable (network, protocol) as fatal. */
function isBroken(err: unknown): boolean {
  const fatal = typeof err === "object" && err !== null && "fatal" in err ? err.fatal : undefined;
  return fatal === true || errorCode(err) === "PROTOCOL_SEQUENCE_TIMEOUT";
}

/** True when the statement timeout (server or client side) stopped the statement. */
export function isTimeout(err: unknown): boolean {
  const errno = typeof err === "object" && err !== null && "errno" in err ? err.errno : undefined;
  return (
    (typeof errno === "number" && TIMEOUT_ERRNOS.has(errno)) || errorCode(err) === "PROTOCOL_SEQUENCE_TIMEOUT"
  );
}
