/**
 * A preflight the bot offered: claim it, check its token as an execution token is checked
 * (signature by a pinned key, this agent, the SQL's hash, the database's capability) but for
 * `purpose: "explain"` — so no execution token can make the agent plan, and no plan token can
 * make it execute — spend the token id in the ledger, plan the statement (EXPLAIN, never
 * ANALYZE, in a transaction that is always rolled back: preflight/explain-*.ts), and report the
 * plan or why there is none. Plans use pools of their own, opened on first use, so a plan never
 * holds a connection an execution is waiting for.
 */
import {
  DbwardError,
  reviewSql,
  verifyExecutionToken,
  type OperationClass,
  type SqlReview,
  type PreflightClaimResponse,
  type PreflightOffer,
  type PreflightResultBody,
} from "@dbward/shared";
import type mysql from "mysql2";
import type pg from "pg";
import type { Logger } from "pino";
import { BotError } from "./bot-client.ts";
import { findDatabase, type DatabaseConfig } from "./config.ts";
import { createMysqlPool } from "./drivers/mysql.ts";
import { createPostgresPool } from "./drivers/postgres.ts";
import { describeError } from "./log.ts";
import { explainMysql } from "./preflight/explain-mysql.ts";
import { explainPostgres } from "./preflight/explain-postgres.ts";
import type { ExplainResult } from "./preflight/preflight-result.ts";
import type { AgentLoop } from "./run-claimed-job.ts";

/** The longest a plan may take, whatever the request's statement timeout: planning is quick. */
export const PREFLIGHT_TIMEOUT_MS = 10_000;

/** One pool per database for plans (as the drivers size theirs), opened on first use. */
export interface PlanPools {
  explain(db: DatabaseConfig, sql: string): Promise<ExplainResult>;
  closeAll(): Promise<void>;
}

export function createPlanPools(logger: Logger): PlanPools {
  const pg = new Map<DatabaseConfig, pg.Pool>();
  const my = new Map<DatabaseConfig, mysql.Pool>();
  // An idle pooled connection that breaks emits an error; without a listener it ends the process.
  // The pool drops that connection and opens another for the next plan, so a log line is all.
  const idleError = (db: DatabaseConfig) => (err: Error) =>
    logger.warn(
      { err: describeError(err), database: db.name, environment: db.environment },
      "a plan connection broke while idle",
    );
  return {
    explain(db, sql) {
      const options = { statementTimeoutMs: PREFLIGHT_TIMEOUT_MS, reviewOptions: db.review };
      switch (db.driver) {
        case "postgres": {
          let pool = pg.get(db);
          if (pool === undefined) {
            pool = createPostgresPool(db);
            pool.on("error", idleError(db));
            pg.set(db, pool);
          }
          return explainPostgres(pool, sql, options);
        }
        case "mysql": {
          let pool = my.get(db);
          if (pool === undefined) {
            pool = createMysqlPool(db);
            pool.on("connection", (conn) => conn.on("error", idleError(db)));
            my.set(db, pool);
          }
          return explainMysql(pool, sql, options);
        }
        case "sqlite":
          return Promise.reject(new DbwardError("sql.rejected", "SQLite databases have no plan to show"));
      }
    },
    async closeAll() {
      await Promise.all([...[...pg.values()].map((p) => p.end()), ...[...my.values()].map((p) => p.end())]);
    },
  };
}

/** The kinds this agent makes, sent with every poll. */
export const PREFLIGHTS_MADE = ["explain"] as const;

/** Claims, checks, plans and reports one offered preflight; false when it was left alone or lost. */
export async function handlePreflight(loop: AgentLoop, offer: PreflightOffer): Promise<boolean> {
  const db = findDatabase(loop.config, offer.database, offer.environment);
  if (
    db === undefined ||
    !db.operations.includes(offer.operation) ||
    loop.health.isDegraded(db) ||
    db.driver === "sqlite"
  )
    return false;
  let claim: PreflightClaimResponse;
  try {
    claim = await loop.client.claimPreflight(offer.preflight_id);
  } catch (err) {
    if (err instanceof BotError && err.code === "agent.session_conflict") throw err;
    if (err instanceof BotError && (err.status === 409 || err.status === 404)) return false;
    throw err;
  }
  const started = performance.now();
  const report = await planClaimed(loop, db, claim);
  const body: PreflightResultBody = { ...report, duration_ms: Math.round(performance.now() - started) };
  loop.logger.info(
    {
      preflight_id: claim.preflight_id,
      request_id: claim.request_id,
      outcome: body.outcome,
      code: body.error?.code,
    },
    "preflight finished",
  );
  try {
    await loop.client.reportPreflight(claim.preflight_id, body);
  } catch (err) {
    // Lapsed meanwhile (the bot failed it as lost) or gone: nothing to retry, the poll goes on.
    if (!(err instanceof BotError && (err.status === 409 || err.status === 404))) throw err;
    loop.logger.warn(
      { preflight_id: claim.preflight_id, code: err.code },
      "the bot no longer takes this plan",
    );
  }
  return true;
}

type Report = Omit<PreflightResultBody, "duration_ms" | "session">;

async function planClaimed(
  loop: AgentLoop,
  db: DatabaseConfig,
  claim: PreflightClaimResponse,
): Promise<Report> {
  const { config, ledger, clock } = loop.deps;
  const verified = verifyExecutionToken(claim.token, {
    keys: config.keys,
    now: Math.floor(clock.now().getTime() / 1000),
    sql: claim.sql,
    agentId: config.id,
    purpose: claim.kind,
    allows: (name, env, op) => findDatabase(config, name, env)?.operations.includes(op) ?? false,
  });
  if (!verified.ok) return failed(verified.code, verified.message);
  const { claims } = verified;
  if (
    claims.db !== db.name ||
    claims.env !== db.environment ||
    claims.op !== claim.operation ||
    claims.req !== claim.request_id
  )
    return failed("token.capability", "the preflight's fields disagree with its token");
  const unproven = unprovenCalls(db, claim.sql, claims.op);
  if (unproven !== undefined) return failed("sql.unverified", unproven);
  if (ledger.has(claims.jti)) return failed("token.replayed", "this token has already been used");
  ledger.record(claims.jti);
  try {
    const plan = await loop.plans.explain(db, claim.sql);
    return { outcome: "succeeded", engine: plan.engine, plan: plan.plan };
  } catch (err) {
    if (err instanceof DbwardError) return failed(err.code, err.message);
    loop.logger.warn({ err: describeError(err), preflight_id: claim.preflight_id }, "planning failed");
    return failed("execution.failed", err instanceof Error ? err.message : String(err));
  }
}

/**
 * Why the agent will not plan this statement, if it will not. EXPLAIN runs no statement, but
 * planners evaluate some functions while they plan (PostgreSQL folds IMMUTABLE and estimates with
 * STABLE ones; MariaDB calls DETERMINISTIC stored functions), before anyone approved the
 * statement, and PostgreSQL's READ ONLY transaction does not stop advisory locks, sleeps or
 * backend signals. So a plan is made only where every call is proven (SECURITY.md principle 2):
 * a read, or a PostgreSQL write, whose calls are all on the allowlist. MySQL/MariaDB plan writes
 * outside READ ONLY (they refuse EXPLAIN of DML there), and the MySQL review does not prove a
 * write's calls, so those get no plan.
 */
function unprovenCalls(db: DatabaseConfig, sql: string, op: OperationClass): string | undefined {
  if (op === "ddl") return "a DDL has no plan to show";
  if (op === "write" && db.driver === "mysql")
    return "no plan for writes on MySQL/MariaDB: its EXPLAIN may call stored functions outside a read-only transaction, and this agent cannot prove a write calls none";
  let review: SqlReview;
  try {
    review = reviewSql(sql, db.driver === "postgres" ? "postgres" : "mysql", db.review);
  } catch (err) {
    return `SQL review failed: ${err instanceof Error ? err.message : String(err)}`;
  }
  const calls = review.unverifiedCalls ?? [];
  if (calls.length > 0)
    return `no plan: the statement calls ${calls.join(", ")}, which this agent does not know to be free of side effects, and planning may evaluate it`;
  if (op === "read" && review.class !== "read")
    return "no plan: this agent cannot prove the statement is a read";
  if (op === "write" && review.class !== "write")
    return `no plan: the statement reviews as ${review.class}, not a write`;
  return undefined;
}

function failed(code: string, message: string): Report {
  return { outcome: "failed", error: { code, message } };
}
