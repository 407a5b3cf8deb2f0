/**
 * EXPLAIN on MySQL and MariaDB: the statement timeout, a transaction, `EXPLAIN FORMAT=JSON
 * <statement>`, ROLLBACK, the session reset. Never ANALYZE.
 *
 * The transaction is READ ONLY for a proven read only: MariaDB 10.11 refuses `EXPLAIN` of an
 * INSERT, UPDATE or DELETE (and of a SELECT … FOR UPDATE) inside `START TRANSACTION READ ONLY`
 * (ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION, 1792), so anything else is explained in a plain
 * transaction that is always rolled back. That
 * rollback matters: the optimizer evaluates constant expressions while it plans, and a stored
 * function declared DETERMINISTIC is called then, by EXPLAIN too; whatever it writes to
 * transactional tables is undone, what it writes to MyISAM is not. In a READ ONLY transaction
 * such a write fails instead.
 */
import { DbwardError } from "@dbward/shared";
import type mysql from "mysql2";
import { summarizePlan } from "../../../shared/src/plan-summary.ts";
import { onMysqlPreflightConnection } from "./mysql-preflight-session.ts";
import { assertPreflightStatement } from "./preflight-statement.ts";
import { elapsedMs, type ExplainOptions, type ExplainResult } from "./preflight-result.ts";

/**
 * The plan of `sql` on the pool's database (MariaDB's plans have the MySQL shape). Throws
 * `sql.rejected` for a text that is not one SELECT, INSERT, UPDATE, DELETE or REPLACE (nothing
 * reaches the server then), `execution.timeout`, or `execution.failed` with the server's
 * message when it cannot plan the statement.
 */
export async function explainMysql(
  pool: mysql.Pool,
  sql: string,
  options: ExplainOptions,
): Promise<ExplainResult> {
  const statement = assertPreflightStatement(sql, "mysql", "explain", options.reviewOptions);
  const started = performance.now();
  const plan = await onMysqlPreflightConnection(
    pool,
    { statementTimeoutMs: options.statementTimeoutMs },
    async (session) => {
      await session.query(
        statement.reviewClass === "read" ? "START TRANSACTION READ ONLY" : "START TRANSACTION",
      );
      const rows = await session.query(`EXPLAIN FORMAT=JSON ${statement.text}`);
      await session.query("ROLLBACK");
      return planOf(rows);
    },
  );
  return { engine: "mysql", plan, summary: summarizePlan("mysql", plan), duration_ms: elapsedMs(started) };
}

/** One row, one column: the plan as JSON text. */
function planOf(rows: unknown): unknown {
  const row: unknown = Array.isArray(rows) ? rows[0] : undefined;
  const cell: unknown = Array.isArray(row) ? row[0] : undefined;
  if (typeof cell !== "string") throw new DbwardError("execution.failed", "EXPLAIN returned no plan");
  try {
    return JSON.parse(cell) as unknown;
  } catch {
    throw new DbwardError("execution.failed", "EXPLAIN returned a plan that is not JSON");
  }
}
