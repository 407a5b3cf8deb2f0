/**
 * SQLite driver (better-sqlite3), for the demo and small embedded databases. Each execution opens
 * the file afresh and closes it after, so no PRAGMA or attached database outlives its job:
 * - reads open the file read-only, so SQLite itself refuses a write smuggled into a read;
 * - writes and DDL run in one transaction (BEGIN IMMEDIATE) that commits, or rolls back on any
 *   error or abort;
 * - `prepare` accepts exactly one statement;
 * - rows are stepped one at a time and handed to the sink in batches; between batches the event
 *   loop runs, so a heartbeat's cancel is seen and a read stops at once;
 * - a file that cannot be opened (gone, its directory gone, no permission) or that fails to read
 *   or write (SQLITE_IOERR_*) is SQLite's form of an unreachable server: the failure is marked as
 *   a lost connection, so the agent degrades the database and probes it until the file is back.
 *   No connection is held between jobs, so there is no idle connection to lose.
 *
 * better-sqlite3 is synchronous and cannot interrupt a running step: the statement timeout and a
 * cancel take effect while waiting for a lock (the busy timeout) and between rows, but a single
 * step that runs long (a big aggregate, a sort before the first row) finishes first. A worker
 * thread would not change that, because terminating a worker waits for the native step too;
 * only `sqlite3_interrupt`, which better-sqlite3 does not expose, could. SQLite targets are for
 * demos and small files, so this is documented rather than worked around (docs/agent.md).
 *
 * Integers are read as bigint so none loses precision; those within 2^53 become numbers again,
 * larger ones strings (SQLite columns have no declared type to go by).
 */
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { DbwardError } from "@dbward/shared";
import type { DatabaseConfig } from "../config.ts";
import {
  assertWithinRowGuard,
  BATCH_ROWS,
  collect,
  executionCancelled,
  executionFailed,
  executionTimeout,
  isAborted,
  type Driver,
  type ExecuteOptions,
  type RowSink,
  type StreamSummary,
} from "./driver.ts";
import { toJsonValue } from "./json-value.ts";

/** The file path from the configured URL: a plain path, `file:` URL, or `sqlite:` prefix. */
export function sqlitePath(url: string): string {
  if (url.startsWith("file:")) return fileURLToPath(url);
  return url.replace(/^sqlite:(\/\/)?/, "");
}

export function createSqliteDriver(db: DatabaseConfig): Driver {
  const path = sqlitePath(db.url.reveal());
  const stream: Driver["stream"] = (sql, options, sink) => streamFile(path, sql, options, sink);
  return {
    stream,
    execute: (sql, options) => collect(stream, sql, options),
    close: () => Promise.resolve(),
  };
}

async function streamFile(
  path: string,
  sql: string,
  options: ExecuteOptions,
  sink: RowSink,
): Promise<StreamSummary> {
  if (isAborted(options.signal)) throw executionCancelled();
  // No SQLite setting is on the reviewer's allowlist; one arriving here is refused, not guessed at.
  if (options.session !== undefined && options.session.length > 0) {
    throw new DbwardError("execution.failed", "SQLite targets take no session settings before the statement");
  }
  let conn: Database.Database;
  try {
    conn = new Database(path, {
      readonly: options.operation === "read",
      fileMustExist: true,
      timeout: options.statementTimeoutMs,
    });
  } catch (err) {
    throw executionFailed(err, errorCode(err), true);
  }
  const isRead = options.operation === "read";
  try {
    const statement = conn.prepare(sql);
    const deadline = Date.now() + options.statementTimeoutMs;
    if (isRead) return await readRows(statement, options, deadline, sink);
    conn.exec("BEGIN IMMEDIATE");
    try {
      const summary = await write(conn, statement, options, deadline, sink);
      if (isAborted(options.signal)) throw executionCancelled();
      assertWithinRowGuard(summary, options);
      conn.exec("COMMIT");
      return summary;
    } catch (err) {
      if (conn.inTransaction) conn.exec("ROLLBACK");
      throw err;
    }
  } catch (err) {
    throw err instanceof DbwardError ? err : executionFailed(err, errorCode(err), isFileFailure(err));
  } finally {
    conn.close();
  }
}

async function readRows(
  statement: Database.Statement,
  options: ExecuteOptions,
  deadline: number,
  sink: RowSink,
): Promise<StreamSummary> {
  if (!statement.reader) {
    // Run it anyway: the read-only connection refuses a write with SQLite's own error.
    statement.run();
    sink.columns([]);
    return {};
  }
  await pump(statement, options, deadline, sink, false);
  return {};
}

async function write(
  conn: Database.Database,
  statement: Database.Statement,
  options: ExecuteOptions,
  deadline: number,
  sink: RowSink,
): Promise<StreamSummary> {
  if (!statement.reader) {
    sink.columns([]);
    return { affected_rows: statement.run().changes };
  }
  // RETURNING: every row is stepped so the write completes, whether the sink wants it or not.
  const returned = await pump(statement, options, deadline, sink, true);
  const changes: unknown = conn.prepare("SELECT changes()").pluck().get();
  return { affected_rows: typeof changes === "number" ? changes : returned };
}

/** Steps the statement, batch by batch into the sink; the count of rows stepped. */
async function pump(
  statement: Database.Statement,
  options: ExecuteOptions,
  deadline: number,
  sink: RowSink,
  drain: boolean,
): Promise<number> {
  sink.columns(statement.columns().map((c) => c.name));
  let batch: unknown[][] = [];
  let wanted = true;
  let stepped = 0;
  for (const row of statement.raw(true).safeIntegers(true).iterate()) {
    if (isAborted(options.signal)) throw executionCancelled();
    if (Date.now() > deadline) throw executionTimeout(options.statementTimeoutMs);
    stepped += 1;
    // Raw mode yields arrays; the guard only narrows the library's `unknown`.
    if (wanted && Array.isArray(row)) batch.push(row.map(sqliteValue));
    if (batch.length >= BATCH_ROWS) {
      wanted = await sink.rows(batch);
      batch = [];
      if (!wanted && !drain) return stepped;
    }
  }
  if (wanted && batch.length > 0) await sink.rows(batch);
  return stepped;
}

function sqliteValue(value: unknown): unknown {
  if (typeof value === "bigint" && value >= Number.MIN_SAFE_INTEGER && value <= Number.MAX_SAFE_INTEGER) {
    return Number(value);
  }
  return toJsonValue(value);
}

/** SQLITE_CANTOPEN and the SQLITE_IOERR family: the file, not the statement, failed. */
function isFileFailure(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && /^SQLITE_(CANTOPEN|IOERR)/.test(code);
}

function errorCode(err: unknown): string | undefined {
  return err instanceof Database.SqliteError ? err.code : undefined;
}
