/**
 * One MySQL/MariaDB preflight on a pooled connection. The statement timeout and the lock wait
 * timeout are session settings here (MariaDB `max_statement_time`, MySQL `max_execution_time`,
 * `innodb_lock_wait_timeout`), so the connection's session is reset (COM_RESET_CONNECTION, as
 * the driver does) before the pool gets it back: no shortened timeout reaches later work. A
 * connection that cannot be rolled back or reset is destroyed instead; the server then rolls
 * back whatever it held.
 *
 * While the connection is held, an 'error' it emits (KILL CONNECTION, a server restart) is
 * heard here, so it fails the preflight instead of ending the agent.
 */
import type mysql from "mysql2";
import type { PoolConnection } from "mysql2";
import { DbwardError } from "@dbward/shared";
import { executionFailed, executionTimeout } from "../drivers/driver.ts";
import {
  CLIENT_TIMEOUT_GRACE_MS,
  detectFlavour,
  errorCode,
  failure,
  getConnection,
  isTimeout,
  run,
  type Flavour,
} from "../drivers/mysql.ts";
import { lockTimeoutError } from "./preflight-result.ts";

/** ER_LOCK_WAIT_TIMEOUT. */
const LOCK_WAIT_TIMEOUT = 1205;

export interface MysqlPreflightLimits {
  readonly statementTimeoutMs: number;
  readonly lockTimeoutMs?: number;
}

/** A held connection, its server's flavour, and a query bounded by the preflight's timeout. */
export interface MysqlPreflightSession {
  readonly conn: PoolConnection;
  readonly flavour: Flavour;
  /** The client's own timeout for a statement: the server's, and a little grace. */
  readonly timeoutMs: number;
  /** Runs `sql` as it is (nothing substituted) under `timeoutMs`; rows as arrays. */
  query(sql: string): Promise<unknown>;
}

/**
 * Runs `work` on a connection whose session gets the preflight's timeouts, then rolls back and
 * resets it whatever happened; throws only DbwardError.
 */
export async function onMysqlPreflightConnection<T>(
  pool: mysql.Pool,
  limits: MysqlPreflightLimits,
  work: (session: MysqlPreflightSession) => Promise<T>,
): Promise<T> {
  const conn = await getConnection(pool);
  let lost: Error | undefined;
  const onError = (err: Error): void => {
    lost ??= err;
  };
  conn.on("error", onError);
  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    const flavour = await detectFlavour(conn);
    await setTimeouts(conn, flavour, limits);
    const timeoutMs = limits.statementTimeoutMs + CLIENT_TIMEOUT_GRACE_MS;
    const query = (sql: string): Promise<unknown> => boundedQuery(conn, sql, timeoutMs);
    outcome = { ok: true, value: await work({ conn, flavour, timeoutMs, query }) };
  } catch (err) {
    outcome = { ok: false, error: err };
  }
  const reset =
    lost === undefined &&
    (await run(conn, "ROLLBACK")
      .then(() => resetSession(conn))
      .then(
        () => true,
        () => false,
      ));
  if (reset) conn.release();
  else conn.destroy();
  conn.removeListener("error", onError);
  if (outcome.ok) return outcome.value;
  throw mysqlPreflightError(outcome.error, lost, limits);
}

async function setTimeouts(
  conn: PoolConnection,
  flavour: Flavour,
  limits: MysqlPreflightLimits,
): Promise<void> {
  const ms = limits.statementTimeoutMs;
  // MariaDB bounds every statement (seconds); MySQL's max_execution_time bounds SELECT only, so
  // there the client's timeout (a little later, dropping the connection) is what bounds a change.
  if (flavour === "mariadb") await run(conn, "SET SESSION max_statement_time = ?", [ms / 1000]);
  else await run(conn, "SET SESSION max_execution_time = ?", [ms]);
  if (limits.lockTimeoutMs !== undefined) {
    // Whole seconds, at least one: the server's unit.
    await run(conn, "SET SESSION innodb_lock_wait_timeout = ?", [
      Math.max(1, Math.ceil(limits.lockTimeoutMs / 1000)),
    ]);
    // The wait for a table's metadata lock (an ALTER or CREATE TRIGGER running), the same bound.
    await run(conn, "SET SESSION lock_wait_timeout = ?", [
      Math.max(1, Math.ceil(limits.lockTimeoutMs / 1000)),
    ]);
  }
}

function resetSession(conn: PoolConnection): Promise<void> {
  return new Promise((resolve, reject) => conn.reset((err) => (err ? reject(err) : resolve())));
}

function boundedQuery(conn: PoolConnection, sql: string, timeout: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    conn.query({ sql, rowsAsArray: true, timeout }, (err, rows) => (err ? reject(err) : resolve(rows)));
  });
}

function errnoOf(err: unknown): number | undefined {
  const errno = typeof err === "object" && err !== null && "errno" in err ? err.errno : undefined;
  return typeof errno === "number" ? errno : undefined;
}

/** The server's own answer (an errno) wins over the connection's later echoes. */
function mysqlPreflightError(
  thrown: unknown,
  lost: Error | undefined,
  limits: MysqlPreflightLimits,
): DbwardError {
  if (thrown instanceof DbwardError) return thrown;
  if (errnoOf(thrown) === LOCK_WAIT_TIMEOUT && limits.lockTimeoutMs !== undefined) {
    return lockTimeoutError(limits.lockTimeoutMs);
  }
  if (isTimeout(thrown)) return executionTimeout(limits.statementTimeoutMs);
  if (errnoOf(thrown) === undefined && lost !== undefined)
    return executionFailed(lost, errorCode(lost), true);
  return failure(thrown);
}
