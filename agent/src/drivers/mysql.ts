/**
 * MySQL and MariaDB driver (mysql2). Each execution:
 * - runs in its own transaction, `START TRANSACTION READ ONLY` for reads, so the server refuses
 *   a write smuggled into a read; reads end in ROLLBACK, writes in COMMIT (DDL commits
 *   implicitly in MySQL and MariaDB: it cannot be rolled back);
 * - sets the session statement timeout first: MariaDB `max_statement_time` (seconds, every
 *   statement); MySQL `max_execution_time` (milliseconds, SELECT only). A client-side timeout a
 *   little later is the backstop: it drops the connection, and the server rolls back;
 * - accepts exactly one statement (no multi-statements, no LOCAL INFILE);
 * - streams rows and stops a read at rowCap + 1 by dropping the connection, so a huge result is
 *   never read whole; a write's rows (RETURNING) are drained so the write can commit;
 * - resets the session (COM_RESET_CONNECTION) before the connection goes back to the pool, so no
 *   session setting leaks from one job to the next.
 */
import mysql, { type FieldPacket, type OkPacket, type PoolConnection, type RowDataPacket } from "mysql2";
import type { DatabaseConfig } from "../config.ts";
import {
  capRows,
  executionFailed,
  executionTimeout,
  type Driver,
  type ExecuteOptions,
  type ExecuteResult,
} from "./driver.ts";
import { rowToJson } from "./json-value.ts";

/** MariaDB ER_STATEMENT_TIMEOUT and MySQL ER_QUERY_TIMEOUT. */
const TIMEOUT_ERRNOS = new Set([1969, 3024]);
const CLIENT_TIMEOUT_GRACE_MS = 2000;

type Flavour = "mariadb" | "mysql";

interface Streamed {
  readonly result: ExecuteResult;
  /** False when the connection was dropped to stop a read early. */
  readonly connectionOpen: boolean;
}

export function createMysqlDriver(db: DatabaseConfig): Driver {
  const pool = mysql.createPool({
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
  let flavour: Flavour | undefined;
  return {
    async execute(sql, options) {
      const conn = await getConnection(pool);
      try {
        flavour ??= await detectFlavour(conn);
      } catch (err) {
        conn.destroy();
        throw executionFailed(err, errorCode(err));
      }
      return executeOn(conn, flavour, sql, options);
    },
    close: () => new Promise<void>((resolve, reject) => pool.end((err) => (err ? reject(err) : resolve()))),
  };
}

async function executeOn(
  conn: PoolConnection,
  flavour: Flavour,
  sql: string,
  options: ExecuteOptions,
): Promise<ExecuteResult> {
  let streamed: Streamed;
  try {
    streamed = await inTransaction(conn, flavour, sql, options);
  } catch (err) {
    conn.destroy();
    throw isTimeout(err)
      ? executionTimeout(options.statementTimeoutMs)
      : executionFailed(err, errorCode(err));
  }
  if (streamed.connectionOpen) {
    // After commit a failed reset must not fail the job; the connection is just not reused.
    conn.reset((err) => (err ? conn.destroy() : conn.release()));
  }
  return streamed.result;
}

async function inTransaction(
  conn: PoolConnection,
  flavour: Flavour,
  sql: string,
  options: ExecuteOptions,
): Promise<Streamed> {
  const isRead = options.operation === "read";
  const ms = options.statementTimeoutMs;
  if (flavour === "mariadb") await run(conn, "SET SESSION max_statement_time = ?", [ms / 1000]);
  else await run(conn, "SET SESSION max_execution_time = ?", [ms]);
  await run(conn, isRead ? "START TRANSACTION READ ONLY" : "START TRANSACTION");
  const streamed = await streamRows(conn, sql, options);
  if (streamed.connectionOpen) await run(conn, isRead ? "ROLLBACK" : "COMMIT");
  return streamed;
}

/** Collects the first result set with columns (a CALL can return several) and a write's count. */
class ResultCollector {
  private columns: string[] = [];
  private readonly rows: unknown[][] = [];
  private affected: number | undefined;
  private collecting: boolean | undefined;

  constructor(private readonly rowCap: number) {}

  onFields(fields: FieldPacket[] | undefined): void {
    if (fields === undefined) return;
    this.collecting = this.collecting === undefined;
    if (this.collecting) this.columns = fields.map((f) => f.name);
  }

  /** Takes one row or OK packet; true once more rows than the cap have arrived. */
  onResult(row: RowDataPacket | OkPacket | unknown[]): boolean {
    if (!Array.isArray(row)) {
      if ("affectedRows" in row && typeof row.affectedRows === "number") this.affected ??= row.affectedRows;
    } else if (this.collecting === true && this.rows.length <= this.rowCap) {
      this.rows.push(rowToJson(row));
    }
    return this.rows.length > this.rowCap;
  }

  result(): ExecuteResult {
    return capRows(this.columns, this.rows, this.rowCap, this.affected);
  }
}

function streamRows(conn: PoolConnection, sql: string, options: ExecuteOptions): Promise<Streamed> {
  return new Promise((resolve, reject) => {
    const collector = new ResultCollector(options.rowCap);
    let settled = false;
    const settle = (connectionOpen: boolean): void => {
      settled = true;
      resolve({ result: collector.result(), connectionOpen });
    };
    const timeout = options.statementTimeoutMs + CLIENT_TIMEOUT_GRACE_MS;
    const query = conn.query({ sql, rowsAsArray: true, timeout });
    query.on("fields", (fields: FieldPacket[] | undefined) => collector.onFields(fields));
    query.on("result", (row: RowDataPacket | OkPacket | unknown[]) => {
      if (settled || !collector.onResult(row) || options.operation !== "read") return;
      // A read-only transaction has nothing to lose: dropping the connection stops the server.
      conn.destroy();
      settle(false);
    });
    query.on("error", (err: Error) => {
      if (settled) return;
      settled = true;
      reject(err);
    });
    query.on("end", () => {
      if (!settled) settle(true);
    });
  });
}

async function detectFlavour(conn: PoolConnection): Promise<Flavour> {
  const rows = await run(conn, "SELECT VERSION() AS v");
  const first: unknown = Array.isArray(rows) ? rows[0] : undefined;
  const version = typeof first === "object" && first !== null && "v" in first ? first.v : undefined;
  return typeof version === "string" && version.includes("MariaDB") ? "mariadb" : "mysql";
}

function getConnection(pool: mysql.Pool): Promise<PoolConnection> {
  return new Promise((resolve, reject) => {
    pool.getConnection((err, conn) => (err ? reject(executionFailed(err, errorCode(err))) : resolve(conn)));
  });
}

function run(conn: PoolConnection, sql: string, values: unknown[] = []): Promise<unknown> {
  return new Promise((resolve, reject) => {
    conn.query(sql, values, (err, rows) => (err ? reject(err) : resolve(rows)));
  });
}

function errorCode(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err && typeof err.code === "string"
    ? err.code
    : undefined;
}

function isTimeout(err: unknown): boolean {
  const errno = typeof err === "object" && err !== null && "errno" in err ? err.errno : undefined;
  return (
    (typeof errno === "number" && TIMEOUT_ERRNOS.has(errno)) || errorCode(err) === "PROTOCOL_SEQUENCE_TIMEOUT"
  );
}
