/**
 * SQLite driver (better-sqlite3), for the demo and small embedded databases. Each execution opens
 * the file afresh and closes it after, so no PRAGMA or attached database outlives its job:
 * - reads open the file read-only, so SQLite itself refuses a write smuggled into a read;
 * - writes and DDL run in one transaction that commits, or rolls back on any error;
 * - `prepare` accepts exactly one statement;
 * - rows are stepped one at a time and stepping stops at rowCap + 1.
 *
 * better-sqlite3 is synchronous and cannot interrupt a running step, so the statement timeout is
 * enforced as the busy timeout (waiting for a lock) and between rows; a single step that runs long
 * (a big aggregate) finishes first. Interrupting it needs a worker thread (#6).
 *
 * Integers are read as bigint so none loses precision; those within 2^53 become numbers again,
 * larger ones strings (SQLite columns have no declared type to go by).
 */
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { DbwardError } from "@dbward/shared";
import type { DatabaseConfig } from "../config.ts";
import {
  capRows,
  executionFailed,
  executionTimeout,
  type Driver,
  type ExecuteOptions,
  type ExecuteResult,
} from "./driver.ts";
import { toJsonValue } from "./json-value.ts";

/** The file path from the configured URL: a plain path, `file:` URL, or `sqlite:` prefix. */
export function sqlitePath(url: string): string {
  if (url.startsWith("file:")) return fileURLToPath(url);
  return url.replace(/^sqlite:(\/\/)?/, "");
}

export function createSqliteDriver(db: DatabaseConfig): Driver {
  const path = sqlitePath(db.url.reveal());
  return {
    execute: (sql, options) => Promise.resolve().then(() => executeOnFile(path, sql, options)),
    close: () => Promise.resolve(),
  };
}

function executeOnFile(path: string, sql: string, options: ExecuteOptions): ExecuteResult {
  let conn: Database.Database;
  try {
    conn = new Database(path, {
      readonly: options.operation === "read",
      fileMustExist: true,
      timeout: options.statementTimeoutMs,
    });
  } catch (err) {
    throw executionFailed(err, errorCode(err));
  }
  try {
    const statement = conn.prepare(sql);
    const deadline = Date.now() + options.statementTimeoutMs;
    if (options.operation === "read") return readRows(statement, options, deadline);
    return conn.transaction(() => write(conn, statement, options, deadline))();
  } catch (err) {
    throw err instanceof DbwardError ? err : executionFailed(err, errorCode(err));
  } finally {
    conn.close();
  }
}

function readRows(statement: Database.Statement, options: ExecuteOptions, deadline: number): ExecuteResult {
  if (!statement.reader) {
    // Run it anyway: the read-only connection refuses a write with SQLite's own error.
    statement.run();
    return capRows([], [], options.rowCap);
  }
  const { columns, rows } = collect(statement, options, deadline, false);
  return capRows(columns, rows, options.rowCap);
}

function write(
  conn: Database.Database,
  statement: Database.Statement,
  options: ExecuteOptions,
  deadline: number,
): ExecuteResult {
  if (!statement.reader) return capRows([], [], options.rowCap, statement.run().changes);
  // RETURNING: every row is stepped so the write completes; only the first rowCap + 1 are kept.
  const { columns, rows } = collect(statement, options, deadline, true);
  const changes: unknown = conn.prepare("SELECT changes()").pluck().get();
  return capRows(columns, rows, options.rowCap, typeof changes === "number" ? changes : undefined);
}

function collect(
  statement: Database.Statement,
  options: ExecuteOptions,
  deadline: number,
  drain: boolean,
): { columns: string[]; rows: unknown[][] } {
  const columns = statement.columns().map((c) => c.name);
  const rows: unknown[][] = [];
  for (const row of statement.raw(true).safeIntegers(true).iterate()) {
    if (Date.now() > deadline) throw executionTimeout(options.statementTimeoutMs);
    // Raw mode yields arrays; the guard only narrows the library's `unknown`.
    if (rows.length <= options.rowCap && Array.isArray(row)) rows.push(row.map(sqliteValue));
    else if (!drain) break;
  }
  return { columns, rows };
}

function sqliteValue(value: unknown): unknown {
  if (typeof value === "bigint" && value >= Number.MIN_SAFE_INTEGER && value <= Number.MAX_SAFE_INTEGER) {
    return Number(value);
  }
  return toJsonValue(value);
}

function errorCode(err: unknown): string | undefined {
  return err instanceof Database.SqliteError ? err.code : undefined;
}
