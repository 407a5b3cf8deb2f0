/**
 * A dry run on MySQL and MariaDB: the exact number of rows one INSERT, UPDATE, DELETE or REPLACE
 * changes (as the server counts them: REPLACE and ON DUPLICATE KEY UPDATE count a row twice),
 * found by running it in a transaction that is always rolled back.
 *
 * Only those four kinds: every other statement either reads (nothing to count) or may commit
 * implicitly (DDL, LOCK TABLES, …), which no ROLLBACK undoes. And before anything runs, every
 * table the statement touches must be a base table in a transactional engine
 * (information_schema ENGINES.TRANSACTIONS = 'YES') with no triggers: a change to a MyISAM
 * table is permanent the moment it is made, and a trigger may change tables nobody named.
 * The caller names the tables (the statement's own review does not list them).
 *
 * The lock wait timeout (`innodb_lock_wait_timeout`, whole seconds) is short: the statement runs
 * before anyone approved it and must not queue behind production traffic. Both timeouts are
 * session settings, reset before the connection goes back to the pool
 * (mysql-preflight-session.ts). AUTO_INCREMENT values an INSERT draws are not given back by
 * the rollback.
 */
import { DbwardError } from "@dbward/shared";
import type mysql from "mysql2";
import type { PoolConnection } from "mysql2";
import { run, stopQueryTimer } from "../drivers/mysql.ts";
import { onMysqlPreflightConnection, type MysqlPreflightSession } from "./mysql-preflight-session.ts";
import { assertPreflightStatement } from "./preflight-statement.ts";
import {
  DEFAULT_LOCK_TIMEOUT_MS,
  elapsedMs,
  type DryRunOptions,
  type DryRunResult,
} from "./preflight-result.ts";

export interface MysqlDryRunOptions extends DryRunOptions {
  /**
   * Every table the statement reads or changes, as `name` (in the connection's database) or
   * `schema.name`, spelled as the server stores it. At least one.
   */
  readonly tables: readonly string[];
}

/** ER_WARNING_NOT_COMPLETE_ROLLBACK: some non-transactional changed tables couldn't be rolled back. */
const INCOMPLETE_ROLLBACK = 1196;

/**
 * Rows `sql` would change on the pool's database; nothing it changes is committed. Throws
 * `sql.rejected` before anything runs for a statement of another kind, or when a named table is
 * missing, a view, not transactional or has triggers; `execution.timeout` when the statement or
 * a lock wait outlasts its limit; `execution.failed` with the server's message otherwise.
 */
export async function dryRunMysql(
  pool: mysql.Pool,
  sql: string,
  options: MysqlDryRunOptions,
): Promise<DryRunResult> {
  const statement = assertPreflightStatement(sql, "mysql", "dry_run", options.reviewOptions);
  if (options.tables.length === 0) {
    throw new DbwardError(
      "sql.rejected",
      "a dry run needs the tables the statement touches, to check that its change can be rolled back; none were given",
    );
  }
  const started = performance.now();
  const affected = await onMysqlPreflightConnection(
    pool,
    {
      statementTimeoutMs: options.statementTimeoutMs,
      lockTimeoutMs: options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS,
    },
    async (session) => {
      // Inside the transaction, each table's metadata lock first (held until ROLLBACK): from then
      // on nobody can add a trigger or change its engine before the statement has run.
      await session.query("START TRANSACTION");
      await holdTables(session.conn, options.tables);
      await assertRollbackable(session.conn, options.tables);
      const count = await countChangedRows(session, statement.text);
      await assertRolledBack(session.conn);
      return count;
    },
  );
  return { affected_rows: affected, duration_ms: elapsedMs(started) };
}

/** ER_NO_SUCH_TABLE: the name is no table (a later check says so in words). */
const NO_SUCH_TABLE = 1146;

/** Takes a shared metadata lock on every table by reading nothing from it. */
async function holdTables(conn: PoolConnection, tables: readonly string[]): Promise<void> {
  const ident = (s: string): string => `\`${s.replaceAll("`", "``")}\``;
  for (const qualified of new Set(tables)) {
    const dot = qualified.indexOf(".");
    const name =
      dot < 0 ? ident(qualified) : `${ident(qualified.slice(0, dot))}.${ident(qualified.slice(dot + 1))}`;
    try {
      await run(conn, `SELECT 1 FROM ${name} LIMIT 0`);
    } catch (err) {
      const errno = typeof err === "object" && err !== null && "errno" in err ? err.errno : undefined;
      if (errno === NO_SUCH_TABLE) continue; // assertRollbackable refuses it, naming it
      throw err;
    }
  }
}

interface TableFacts {
  readonly type: unknown;
  readonly engine: unknown;
  readonly transactional: unknown;
  readonly triggers: unknown;
}

/** Throws `sql.rejected` naming the first table whose change a ROLLBACK might not undo. */
async function assertRollbackable(conn: PoolConnection, tables: readonly string[]): Promise<void> {
  for (const qualified of new Set(tables)) {
    const dot = qualified.indexOf(".");
    const schema = dot < 0 ? null : qualified.slice(0, dot);
    const name = dot < 0 ? qualified : qualified.slice(dot + 1);
    const rows = await run(
      conn,
      `SELECT t.TABLE_TYPE AS type, t.ENGINE AS engine, e.TRANSACTIONS AS transactional,
              (SELECT COUNT(*) FROM information_schema.TRIGGERS g
                WHERE g.EVENT_OBJECT_SCHEMA = t.TABLE_SCHEMA AND g.EVENT_OBJECT_TABLE = t.TABLE_NAME) AS triggers
         FROM information_schema.TABLES t LEFT JOIN information_schema.ENGINES e ON e.ENGINE = t.ENGINE
        WHERE t.TABLE_SCHEMA = COALESCE(?, DATABASE()) AND t.TABLE_NAME = ?`,
      [schema, name],
    );
    // information_schema may compare names without regard to case, while the server keeps `T`
    // and `t` apart: every table the name matches must pass, not just the first one listed.
    const all = (Array.isArray(rows) ? rows : []) as TableFacts[];
    const problem =
      all.length === 0 ? rollbackProblem(undefined) : all.map(rollbackProblem).find((p) => p !== undefined);
    if (problem !== undefined) {
      throw new DbwardError("sql.rejected", `no dry run: ${qualified} ${problem}; nothing was run`);
    }
  }
}

function rollbackProblem(facts: TableFacts | undefined): string | undefined {
  if (facts === undefined) return "is not a table in this database";
  if (facts.type !== "BASE TABLE" && facts.type !== "SYSTEM VERSIONED") {
    return `is a ${String(facts.type).toLowerCase()}, not a base table, so what it changes cannot be checked`;
  }
  if (facts.transactional !== "YES") {
    return `uses the ${String(facts.engine)} engine, which is not transactional: its change could not be rolled back`;
  }
  if (Number(facts.triggers) > 0) {
    return "has triggers, which may change tables a rollback cannot restore";
  }
  return undefined;
}

/**
 * Streams the statement's results and counts them without keeping them: a change's OK packet
 * has the count, and MariaDB's DELETE/INSERT … RETURNING sends the changed rows instead.
 */
function countChangedRows(session: MysqlPreflightSession, text: string): Promise<number> {
  // The session's bounded query collects rows; RETURNING can return many, so stream here.
  return new Promise((resolve, reject) => {
    let returned = 0;
    let affected: number | undefined;
    const { conn } = session;
    // mysql2 tells a query without a callback nothing of its connection dying: only this does.
    // The query then never ends, so its client-side timer must go too, or it holds the process.
    const onLost = (err: Error): void => {
      conn.removeListener("error", onLost);
      stopQueryTimer(query);
      reject(err);
    };
    const query = conn.query({ sql: text, rowsAsArray: true, timeout: session.timeoutMs });
    conn.on("error", onLost);
    query.on("result", (row: unknown) => {
      if (Array.isArray(row)) returned += 1;
      else if (
        typeof row === "object" &&
        row !== null &&
        "affectedRows" in row &&
        typeof row.affectedRows === "number"
      ) {
        affected ??= row.affectedRows;
      }
    });
    query.on("error", (err: Error) => {
      conn.removeListener("error", onLost);
      reject(err);
    });
    query.on("end", () => {
      conn.removeListener("error", onLost);
      const count = returned > 0 ? returned : affected;
      if (count === undefined) {
        reject(
          new DbwardError(
            "execution.failed",
            "the database did not report how many rows the statement changed",
          ),
        );
      } else resolve(count);
    });
  });
}

/** ROLLBACK, and a loud failure when the server says part of the change could not be undone. */
async function assertRolledBack(conn: PoolConnection): Promise<void> {
  await run(conn, "ROLLBACK");
  const warnings = await run(conn, "SHOW WARNINGS");
  const list = Array.isArray(warnings) ? (warnings as { Code?: unknown }[]) : [];
  if (list.some((w) => Number(w.Code) === INCOMPLETE_ROLLBACK)) {
    throw new DbwardError(
      "execution.failed",
      "the dry run was rolled back, but the server reports that changes to non-transactional tables could not be undone",
      { non_transactional: true },
    );
  }
}
