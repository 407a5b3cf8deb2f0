/**
 * EXPLAIN on PostgreSQL: `BEGIN READ ONLY`, `statement_timeout` set LOCAL, `EXPLAIN (FORMAT JSON)
 * <statement>`, ROLLBACK. Never ANALYZE, so the statement is planned, not run. PostgreSQL plans
 * an INSERT, UPDATE or DELETE inside a READ ONLY transaction (plain EXPLAIN skips the read-only
 * check). READ ONLY is the second wall, not the first: a function the planner evaluates early
 * (an IMMUTABLE one folded, a STABLE one used for an estimate) cannot write, but could still take
 * an advisory lock, sleep or signal a backend, so the caller plans only statements whose every
 * call the review proves (run-preflight.ts). The statement goes through the extended query
 * protocol, which takes one statement only.
 */
import { DbwardError } from "@dbward/shared";
import type pg from "pg";
import { extendedProtocol } from "../drivers/postgres.ts";
import { summarizePlan } from "../../../shared/src/plan-summary.ts";
import { inRolledBackPgTransaction } from "./postgres-preflight-session.ts";
import { assertPreflightStatement } from "./preflight-statement.ts";
import { elapsedMs, type ExplainOptions, type ExplainResult } from "./preflight-result.ts";

/**
 * The plan of `sql` on the pool's database. Throws `sql.rejected` for a text that is not one
 * SELECT, INSERT, UPDATE or DELETE (nothing reaches the server then), `execution.timeout` when
 * planning outlasts `statementTimeoutMs`, `execution.failed` with the server's message when it
 * cannot plan the statement (an unknown table, a syntax error).
 */
export async function explainPostgres(
  pool: pg.Pool,
  sql: string,
  options: ExplainOptions,
): Promise<ExplainResult> {
  const statement = assertPreflightStatement(sql, "postgres", "explain", options.reviewOptions);
  const started = performance.now();
  const plan = await inRolledBackPgTransaction(
    pool,
    { readOnly: true, statementTimeoutMs: options.statementTimeoutMs },
    async (client) => {
      const result = await client.query(extendedProtocol(`EXPLAIN (FORMAT JSON) ${statement.text}`));
      return planOf(result.rows);
    },
  );
  return {
    engine: "postgres",
    plan,
    summary: summarizePlan("postgres", plan),
    duration_ms: elapsedMs(started),
  };
}

/** EXPLAIN (FORMAT JSON) answers one row with one json column, which pg has parsed already. */
function planOf(rows: readonly unknown[]): unknown {
  const row = rows[0];
  const cell: unknown = typeof row === "object" && row !== null ? Object.values(row)[0] : undefined;
  if (typeof cell !== "string") {
    if (cell === undefined) throw new DbwardError("execution.failed", "EXPLAIN returned no plan");
    return cell;
  }
  try {
    return JSON.parse(cell) as unknown;
  } catch {
    throw new DbwardError("execution.failed", "EXPLAIN returned a plan that is not JSON");
  }
}
