/**
 * A preflight the bot offered: claim it, check its token as an execution token is checked
 * (signature by a pinned key, this agent, the SQL's hash, the database's capability) but for
 * the preflight's own purpose (`explain` or `dry_run`) — so no execution token can make the
 * agent plan or dry-run, no plan token can make it execute or dry-run, and no dry-run token can
 * make it execute — spend the token id in the ledger, and then:
 *  - `explain`: plan the statement (EXPLAIN, never ANALYZE, in a transaction that is always
 *    rolled back: preflight/explain-*.ts), and report the plan or why there is none;
 *  - `dry_run` (PostgreSQL and MySQL/MariaDB, and only where the agent's config consents with
 *    `dry_run: true`): run the write in a transaction that is always rolled back and report the
 *    rows it changed, once the review proved its calls and the tables it names were proven to
 *    call nothing either (PostgreSQL: preflight/dry-run-postgres.ts and dry-run-safety.ts) or to
 *    be InnoDB base tables without triggers (MySQL/MariaDB: preflight/dry-run-mysql.ts, every
 *    table the statement names: dry-run-mysql-tables.ts).
 * Preflights use pools of their own, opened on first use, so a preflight never holds a
 * connection an execution is waiting for.
 */
import {
  DbwardError,
  reviewSql,
  verifyExecutionToken,
  type OperationClass,
  type SqlReview,
  type PreflightClaimResponse,
  type PreflightKind,
  type PreflightOffer,
  type PreflightResultBody,
  type ExecutionClaims,
} from "@dbward/shared";
import type { Logger } from "pino";
import { BotError } from "./bot-client.ts";
import { findDatabase, type AgentConfig, type DatabaseConfig } from "./config.ts";
import { createLazyPools } from "./drivers/lazy-pools.ts";
import { describeError } from "./log.ts";
import { redactPreflightReport } from "./masking/preflight-redaction.ts";
import { dryRunMysql } from "./preflight/dry-run-mysql.ts";
import { dryRunMysqlTables } from "./preflight/dry-run-mysql-tables.ts";
import { dryRunPostgres } from "./preflight/dry-run-postgres.ts";
import { assertDryRunSafe, dryRunRelations } from "./preflight/dry-run-safety.ts";
import { explainMysql } from "./preflight/explain-mysql.ts";
import { explainPostgres } from "./preflight/explain-postgres.ts";
import type { DryRunResult, ExplainResult } from "./preflight/preflight-result.ts";
import type { AgentLoop } from "./run-claimed-job.ts";

/** The longest a plan may take, whatever the request's statement timeout: planning is quick. */
export const PREFLIGHT_TIMEOUT_MS = 10_000;

/**
 * The longest a dry run may take, whatever the request's statement timeout: it runs a write
 * nobody approved yet, holding its row locks until it rolls back.
 */
export const DRY_RUN_TIMEOUT_MS = 30_000;

/** One pool per database for preflights (as the drivers size theirs), opened on first use. */
export interface PlanPools {
  explain(db: DatabaseConfig, sql: string): Promise<ExplainResult>;
  /**
   * Runs `sql` (one INSERT, UPDATE or DELETE, or REPLACE on MySQL/MariaDB) and rolls it back,
   * after the engine's safety check; throws DbwardError when refused or failed.
   */
  dryRun(db: DatabaseConfig, sql: string, statementTimeoutMs: number): Promise<DryRunResult>;
  closeAll(): Promise<void>;
}

export function createPlanPools(logger: Logger): PlanPools {
  const pools = createLazyPools(logger, "plan");
  return {
    explain(db, sql) {
      const options = { statementTimeoutMs: PREFLIGHT_TIMEOUT_MS, reviewOptions: db.review };
      switch (db.driver) {
        case "postgres":
          return explainPostgres(pools.postgres(db), sql, options);
        case "mysql":
          return explainMysql(pools.mysql(db), sql, options);
        case "sqlite":
          return Promise.reject(new DbwardError("sql.rejected", "SQLite databases have no plan to show"));
      }
    },
    async dryRun(db, sql, statementTimeoutMs) {
      if (db.driver === "sqlite" || db.dryRun !== true)
        throw new DbwardError(
          "sql.rejected",
          "dry runs are only for PostgreSQL and MySQL/MariaDB databases with dry_run: true",
        );
      // Parsed before any connection: a text the parser cannot read reaches no server.
      if (db.driver === "mysql") {
        const tables = dryRunMysqlTables(sql);
        return dryRunMysql(pools.mysql(db), sql, { statementTimeoutMs, reviewOptions: db.review, tables });
      }
      const relations = dryRunRelations(sql);
      return dryRunPostgres(pools.postgres(db), sql, {
        statementTimeoutMs,
        reviewOptions: db.review,
        beforeStatement: (client) => assertDryRunSafe(client, relations),
      });
    },
    closeAll: () => pools.closeAll(),
  };
}

/**
 * The kinds this agent makes, sent with every poll: `dry_run` only when a database's config
 * consents to it, so a bot never offers one to an agent that never agreed.
 */
export function preflightsMade(config: AgentConfig): PreflightKind[] {
  return config.databases.some(canDryRun) ? ["explain", "dry_run"] : ["explain"];
}

/** A database this agent dry-runs writes on: PostgreSQL or MySQL/MariaDB, consented to, writes allowed. */
function canDryRun(db: DatabaseConfig): boolean {
  return db.dryRun === true && db.driver !== "sqlite" && db.operations.includes("write");
}

/** Whether this agent takes the offer at all; one it does not take is left to another agent. */
function takesOffer(db: DatabaseConfig, offer: PreflightOffer): boolean {
  switch (offer.kind) {
    case "explain":
      return db.driver !== "sqlite";
    case "dry_run":
      return canDryRun(db) && offer.operation === "write";
  }
}

/** Claims, checks, makes and reports one offered preflight; false when it was left alone or lost. */
export async function handlePreflight(loop: AgentLoop, offer: PreflightOffer): Promise<boolean> {
  const db = findDatabase(loop.config, offer.database, offer.environment);
  if (
    db === undefined ||
    !db.operations.includes(offer.operation) ||
    loop.health.isDegraded(db) ||
    !takesOffer(db, offer)
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
  const report = await runClaimed(loop, db, offer, claim);
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

async function runClaimed(
  loop: AgentLoop,
  db: DatabaseConfig,
  offer: PreflightOffer,
  claim: PreflightClaimResponse,
): Promise<Report> {
  // The offer decided whether to take it; a claim of another kind was not agreed to.
  if (claim.kind !== offer.kind)
    return failed("token.capability", `the claim is for ${claim.kind}, the offer was for ${offer.kind}`);
  const checked = verifyClaim(loop, db, claim);
  if (typeof checked !== "object" || !("jti" in checked)) return checked;
  const report =
    claim.kind === "explain"
      ? await planClaimed(loop, db, claim, checked.jti)
      : await dryRunClaimed(loop, db, claim, checked.jti);
  // A dry run's failure can quote stored values of masked columns (masking/preflight-redaction.ts).
  return redactPreflightReport(report, checked.masks !== undefined);
}

/** The token's id once it was verified for the claim's purpose and fields, or why it was not. */
function verifyClaim(
  loop: AgentLoop,
  db: DatabaseConfig,
  claim: PreflightClaimResponse,
): ExecutionClaims | Report {
  const { config, clock } = loop.deps;
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
  return claims;
}

async function planClaimed(
  loop: AgentLoop,
  db: DatabaseConfig,
  claim: PreflightClaimResponse,
  jti: string,
): Promise<Report> {
  const { ledger } = loop.deps;
  const unproven = unprovenCalls(db, claim.sql, claim.operation);
  if (unproven !== undefined) return failed("sql.unverified", unproven);
  if (ledger.has(jti)) return failed("token.replayed", "this token has already been used");
  ledger.record(jti);
  try {
    const plan = await loop.plans.explain(db, claim.sql);
    return { outcome: "succeeded", engine: plan.engine, plan: plan.plan };
  } catch (err) {
    return thrown(loop, claim, err);
  }
}

/**
 * The token is spent before anything else is checked: a dry-run token that was refused is
 * never good for a second try. Then the statement must be a write whose every call is proven,
 * and the tables it names (or, on PostgreSQL, reaches) must call nothing (PostgreSQL: checked in
 * the dry run's own transaction, right before the statement; MySQL/MariaDB: InnoDB base tables
 * without triggers, checked right before its transaction).
 */
async function dryRunClaimed(
  loop: AgentLoop,
  db: DatabaseConfig,
  claim: PreflightClaimResponse,
  jti: string,
): Promise<Report> {
  const { ledger } = loop.deps;
  if (ledger.has(jti)) return failed("token.replayed", "this token has already been used");
  ledger.record(jti);
  if (!canDryRun(db) || claim.operation !== "write")
    return failed(
      "sql.rejected",
      "this agent dry-runs only writes on PostgreSQL and MySQL/MariaDB databases with dry_run: true",
    );
  const unproven = unprovenCalls(db, claim.sql, "write", "dry_run");
  if (unproven !== undefined) return failed("sql.unverified", unproven);
  const timeoutMs = Math.min(DRY_RUN_TIMEOUT_MS, claim.statement_timeout_ms, db.statementTimeoutMs);
  try {
    const result = await loop.plans.dryRun(db, claim.sql, timeoutMs);
    return { outcome: "succeeded", affected_rows: result.affected_rows };
  } catch (err) {
    return thrown(loop, claim, err);
  }
}

function thrown(loop: AgentLoop, claim: PreflightClaimResponse, err: unknown): Report {
  if (err instanceof DbwardError) return failed(err.code, err.message);
  loop.logger.warn({ err: describeError(err), preflight_id: claim.preflight_id }, "the preflight failed");
  return failed("execution.failed", err instanceof Error ? err.message : String(err));
}

/**
 * Why the agent will not plan this statement, if it will not. EXPLAIN runs no statement, but
 * planners evaluate some functions while they plan (PostgreSQL folds IMMUTABLE and estimates with
 * STABLE ones; MariaDB calls DETERMINISTIC stored functions), before anyone approved the
 * statement, and PostgreSQL's READ ONLY transaction does not stop advisory locks, sleeps or
 * backend signals. So a plan is made only where every call is proven (SECURITY.md principle 2):
 * a read, or a PostgreSQL write, whose calls are all on the allowlist. MySQL/MariaDB plan writes
 * outside READ ONLY (they refuse EXPLAIN of DML there), so those get no plan: that a write's
 * calls are proven is not shown to make its EXPLAIN equally safe. A dry run runs the write
 * itself: the same proof (the review lists a write's unproven calls on every engine) is the
 * least it needs.
 */
function unprovenCalls(
  db: DatabaseConfig,
  sql: string,
  op: OperationClass,
  kind: PreflightKind = "explain",
): string | undefined {
  const no = kind === "explain" ? "no plan" : "no dry run";
  if (op === "ddl") return "a DDL has no plan to show";
  if (kind === "explain" && op === "write" && db.driver === "mysql")
    return "no plan for writes on MySQL/MariaDB: its EXPLAIN of a write runs outside a read-only transaction and may call stored functions while it plans";
  let review: SqlReview;
  try {
    review = reviewSql(sql, db.driver === "postgres" ? "postgres" : "mysql", db.review);
  } catch (err) {
    return `SQL review failed: ${err instanceof Error ? err.message : String(err)}`;
  }
  const calls = review.unverifiedCalls ?? [];
  if (calls.length > 0)
    return `${no}: the statement calls ${calls.join(", ")}, which this agent does not know to be free of side effects, and ${kind === "explain" ? "planning may evaluate it" : "a dry run would call it"}`;
  if (op === "read" && review.class !== "read")
    return `${no}: this agent cannot prove the statement is a read`;
  if (op === "write" && review.class !== "write")
    return `${no}: the statement reviews as ${review.class}, not a write`;
  return undefined;
}

function failed(code: string, message: string): Report {
  return { outcome: "failed", error: { code, message } };
}
