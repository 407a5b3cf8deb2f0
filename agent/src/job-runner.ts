/**
 * Runs one claimed job, or refuses it. The agent trusts nothing the bot says beyond what the
 * execution token proves (SECURITY.md principle 4), so before a statement runs:
 * 1. the token verifies against a key pinned in this agent's config, is unexpired, was issued to
 *    this agent, hashes to exactly this SQL, and names a database/environment/operation this
 *    agent's capability list allows (shared `verifyExecutionToken`);
 * 2. the job's own fields agree with the token, so a confused bot cannot aim a token elsewhere;
 * 3. the agent reviews the SQL itself, whatever the token says: a rejected text, a class this
 *    database does not allow, or a class more dangerous than the token's is refused; the same
 *    review splits off the allowed session settings the text may start with;
 * 4. the token id is not in the ledger, and is recorded there before anything runs (T-REPLAY).
 * Any refusal becomes a result with outcome `refused` and the error code; nothing is executed.
 */
import {
  DbwardError,
  LATE_OUTCOME_CODES,
  reviewSql,
  verifyExecutionToken,
  type ClaimResponse,
  type ErrorCode,
  type ExecutionClaims,
  type JobResultBody,
  type OperationClass,
  type SqlClass,
  type SqlDialect,
  type SqlReview,
} from "@dbward/shared";
import type { Logger } from "pino";
import type { Clock } from "./clock.ts";
import { findDatabase, type AgentConfig, type DatabaseConfig, type DriverName } from "./config.ts";
import {
  isConnectionFailure,
  type CatalogCheck,
  type ExecuteOptions,
  type RowSink,
} from "./drivers/driver.ts";
import type { DriverRegistry } from "./drivers/registry.ts";
import type { Ledger } from "./ledger.ts";
import { jobMasking } from "./masking/job-masking.ts";
import type { ResultMasking } from "./masking/result-masking.ts";
import { describeError } from "./log.ts";
import type { OutcomeJournal } from "./outcome-journal.ts";
import { ResultUpload, type UploadStop } from "./result-upload.ts";

export interface JobRunnerDeps {
  readonly config: AgentConfig;
  readonly ledger: Ledger;
  /**
   * Where outcomes are written ahead of their report (outcome-journal.ts). The agent always has
   * one; a caller without one (a driver's own tests) runs jobs with nothing journaled.
   */
  readonly journal?: OutcomeJournal;
  readonly drivers: DriverRegistry;
  readonly clock: Clock;
  readonly logger: Logger;
}

export type JobCheck =
  | {
      readonly ok: true;
      readonly claims: ExecutionClaims;
      readonly database: DatabaseConfig;
      readonly statement: StatementToRun;
      /** The token's column masks (masking/), when it carries any. */
      readonly masking?: ResultMasking;
    }
  | { readonly ok: false; readonly code: ErrorCode; readonly message: string };

/** What the driver runs: one statement, after the session settings the text starts with. */
export interface StatementToRun {
  readonly sql: string;
  readonly session: readonly string[];
  /** For reads: what the driver checks in the target's catalogue before it runs the statement. */
  readonly catalogCheck?: CatalogCheck;
  /** For reads: the statement alone, as the review delimited it (ExecuteOptions.readQuery). */
  readonly readQuery?: string;
}

const DIALECTS = { postgres: "postgres", mysql: "mysql", sqlite: "sqlite" } as const satisfies Record<
  DriverName,
  SqlDialect
>;

/** How much a class can change: a token for a class may run SQL of that class or a lower one. */
const DANGER: Record<OperationClass, number> = { read: 0, write: 1, ddl: 2 };

const refuse = (code: ErrorCode, message: string): JobCheck => ({ ok: false, code, message });

/** Every check that decides whether the job may run, in order; reads the ledger, writes nothing. */
export function checkJob(
  claim: ClaimResponse,
  deps: Pick<JobRunnerDeps, "config" | "ledger" | "clock">,
): JobCheck {
  const { config } = deps;
  const verified = verifyExecutionToken(claim.token, {
    keys: config.keys,
    now: Math.floor(deps.clock.now().getTime() / 1000),
    sql: claim.sql,
    agentId: config.id,
    purpose: "execute",
    allows: (db, env, op) => findDatabase(config, db, env)?.operations.includes(op) ?? false,
  });
  if (!verified.ok) return refuse(verified.code, verified.message);
  const { claims } = verified;
  const mismatch = jobMismatch(claim, claims);
  if (mismatch !== undefined) return refuse("token.capability", mismatch);
  const database = findDatabase(config, claims.db, claims.env);
  if (database === undefined)
    return refuse("token.capability", `${claims.db}/${claims.env} is not configured`);
  const review = reviewClass(claim.sql, database, claims.op);
  if (!review.ok) return review;
  const masking = jobMasking(claims, database, config.maskingKey);
  if (!masking.ok) return refuse(masking.code, masking.message);
  if (deps.ledger.has(claims.jti)) return refuse("token.replayed", "this token has already been executed");
  return {
    ok: true,
    claims,
    database,
    statement: review.statement,
    ...(masking.masking === undefined ? {} : { masking: masking.masking }),
  };
}

/** Why the job's fields disagree with its token, if they do. */
function jobMismatch(claim: ClaimResponse, claims: ExecutionClaims): string | undefined {
  if (claim.database !== claims.db || claim.environment !== claims.env) {
    return `the job is for ${claim.database}/${claim.environment} but its token is for ${claims.db}/${claims.env}`;
  }
  if (claim.operation !== claims.op) return `the job says ${claim.operation} but its token says ${claims.op}`;
  if (claim.request_id !== claims.req || claim.execution !== claims.exe) {
    return `the job is request ${claim.request_id} execution ${claim.execution} but its token is for request ${claims.req} execution ${claims.exe}`;
  }
  return undefined;
}

function reviewClass(
  sql: string,
  database: DatabaseConfig,
  tokenOp: OperationClass,
): { ok: true; statement: StatementToRun } | JobCheck {
  let sqlClass: SqlClass;
  let reasons: string;
  let statements: SqlReview["statements"];
  let references: SqlReview["references"];
  let unverified: readonly string[] = [];
  try {
    const review = reviewSql(sql, DIALECTS[database.driver], database.review);
    sqlClass = review.class;
    reasons = review.findings.map((f) => f.message).join("; ");
    statements = review.statements;
    references = review.references;
    unverified = review.unverifiedCalls ?? [];
  } catch (err) {
    // Fail closed (SECURITY.md principle 2): a reviewer that cannot answer is a refusal.
    return refuse("sql.rejected", `SQL review failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (sqlClass === "rejected") return refuse("sql.rejected", `the SQL is not allowed: ${reasons}`);
  // A read token for SQL this agent's allowlist cannot prove: name what it could not prove.
  if (tokenOp === "read" && sqlClass !== "read" && unverified.length > 0) {
    return refuse(
      "sql.unverified",
      `the token allows only a read, but this agent cannot prove the SQL is one: it calls ${unverified.join(", ")}, which this agent does not know to be free of side effects`,
    );
  }
  const where = `${database.name}/${database.environment}`;
  if (!database.operations.includes(sqlClass)) {
    return refuse(
      "token.capability",
      `the SQL reviews as ${sqlClass}, which this agent does not run on ${where}`,
    );
  }
  if (DANGER[sqlClass] > DANGER[tokenOp]) {
    return refuse("sql.rejected", `the SQL reviews as ${sqlClass} but its token allows only ${tokenOp}`);
  }
  const split = statementToRun(sql, statements);
  if (split === undefined) {
    return refuse("sql.rejected", "the SQL does not consist of session settings followed by one statement");
  }
  // A read is checked once more against the target's real catalogue, just before it runs.
  const catalogCheck: CatalogCheck | undefined =
    sqlClass === "read" && references !== undefined
      ? { references, trustedFunctions: database.review.trustedFunctions ?? [] }
      : undefined;
  const readQuery = sqlClass === "read" ? statements.find((s) => s.kind === "main")?.text : undefined;
  return {
    ok: true,
    statement: {
      ...split,
      ...(catalogCheck === undefined ? {} : { catalogCheck }),
      ...(readQuery === undefined ? {} : { readQuery }),
    },
  };
}

/**
 * The statement and its session settings, as this agent's own review split the text. Without
 * settings the text runs whole, exactly as approved; so does a text the reviewer could not split
 * (unreadable, approved as a write of unassessed risk), where the drivers' one-statement
 * protocols refuse anything more. Anything else than settings then one statement: undefined.
 */
export function statementToRun(sql: string, statements: SqlReview["statements"]): StatementToRun | undefined {
  const session = statements.filter((s) => s.kind === "session").map((s) => s.text);
  const main = statements.filter((s) => s.kind === "main");
  if (statements.length === 0) return { sql, session: [] };
  const last = statements.at(-1);
  if (main.length !== 1 || last?.kind !== "main") return undefined;
  return session.length === 0 ? { sql, session: [] } : { sql: last.text, session };
}

/** What a job needs besides its claim: where its rows go, and the signal that stops it. */
export interface JobIo {
  /** Sends one chunk of result rows to the bot (retrying inside). */
  readonly sendChunk: (
    seq: number,
    ndjson: Buffer,
    columns?: readonly string[],
  ) => Promise<{ cancel: boolean }>;
  /** Aborted when the job must stop: cancelled on the bot, lease lost, or the agent shutting down. */
  readonly signal: AbortSignal;
  /** Called when the upload stops: the bot asked to cancel, or a chunk could not be delivered. */
  readonly onUploadStop: (why: UploadStop, err?: unknown) => void;
  /** Target chunk size (tests make it small). */
  readonly chunkBytes?: number;
  /** Called when the job failed because the database could not be reached. */
  readonly onConnectionLost?: (db: DatabaseConfig, err: DbwardError) => void;
}

/** Why a job was aborted, as the abort reason of `JobIo.signal`. */
export type AbortCause = "cancelled" | "lease_lost" | "shutdown";

const ABORTED: Record<AbortCause, { code: string; message: string }> = {
  cancelled: {
    code: "execution.cancelled",
    message: "cancelled on request: the statement was stopped on the database server and rolled back",
  },
  lease_lost: {
    code: "job.lease_lost",
    message: "the bot no longer held this job's lease: the statement was stopped and rolled back",
  },
  shutdown: {
    code: "execution.cancelled",
    message: "the agent shut down: the statement was stopped on the database server and rolled back",
  },
};

/**
 * Checks, records and executes one claimed job, streaming its rows to the bot; never throws.
 * The outcome journal is written ahead of the answer: `started` before the statement runs, then
 * `committed`, `failed` or `unknown` before the result is handed back to be reported.
 */
export async function runJob(claim: ClaimResponse, deps: JobRunnerDeps, io: JobIo): Promise<JobResultBody> {
  const started = deps.clock.now().getTime();
  const elapsed = (): number => Math.max(0, deps.clock.now().getTime() - started);
  const check = checkJob(claim, deps);
  if (!check.ok) return failure("refused", check.code, check.message, elapsed());
  try {
    // Recorded before it runs: a crash during execution must never lead to a second run.
    deps.ledger.record(check.claims.jti);
    // And journaled, so that a crash from here on is reported, never left a silent `lost`.
    deps.journal?.started(claim.job_id, check.claims.jti);
  } catch (err) {
    if (err instanceof DbwardError) return failure("refused", err.code, err.message, elapsed());
    deps.logger.error({ err: describeError(err) }, "could not record the token in the ledger or journal");
    return failure(
      "refused",
      "internal",
      "the agent could not record the token, so it did not run it",
      elapsed(),
    );
  }
  return execute(claim, check, deps, io, elapsed);
}

async function execute(
  claim: ClaimResponse,
  check: Extract<JobCheck, { ok: true }>,
  deps: JobRunnerDeps,
  io: JobIo,
  elapsed: () => number,
): Promise<JobResultBody> {
  const options = {
    ...executeOptions(claim, check.database, check.claims.op),
    signal: io.signal,
    session: check.statement.session,
    ...(check.statement.catalogCheck === undefined ? {} : { catalogCheck: check.statement.catalogCheck }),
    ...(check.statement.readQuery === undefined ? {} : { readQuery: check.statement.readQuery }),
    // The signed bound; the driver rolls back a write over it instead of committing.
    ...(check.claims.max_rows === null ? {} : { maxAffectedRows: check.claims.max_rows }),
    // The signed masks: every row is masked in the driver, before it reaches the upload.
    ...(check.masking === undefined ? {} : { masking: check.masking }),
  };
  const upload = new ResultUpload({
    rowCap: options.rowCap,
    maxBytes: resultMaxBytes(claim, check.database),
    send: io.sendChunk,
    onStop: io.onUploadStop,
    ...(io.chunkBytes === undefined ? {} : { chunkBytes: io.chunkBytes }),
  });
  let returned = 0;
  const counted: RowSink = {
    columns: (names, kinds) => upload.columns(names, kinds),
    rows: (batch) => {
      returned += batch.length;
      return upload.rows(batch);
    },
    csv: (batch) => {
      returned += batch.ends.length;
      return upload.csv(batch);
    },
  };
  const journal = journalWriter(claim.job_id, deps);
  try {
    const summary = await deps.drivers.get(check.database).stream(check.statement.sql, options, counted);
    const affected = summary.affected_rows === undefined ? {} : { affected_rows: summary.affected_rows };
    // Committed: journaled before the last chunk and the result go up, which can take minutes.
    journal((j) => j.committed(claim.job_id, { row_count: returned, ...affected }));
    const streamed = await upload.finish();
    return { outcome: "succeeded", duration_ms: elapsed(), streamed, ...affected };
  } catch (err) {
    await upload.finish();
    const lostConnection = err instanceof DbwardError && isConnectionFailure(err);
    if (lostConnection) io.onConnectionLost?.(check.database, err);
    const result = executionFailure(err, io.signal, deps.logger, elapsed());
    const { error } = result;
    if (error === undefined) return result;
    if (lostConnection && check.claims.op !== "read") {
      // The connection broke during a write: the server may have committed it before it went.
      // The journal says so, and the report is taken from it (run-claimed-job.ts).
      journal((j) =>
        j.unknown(claim.job_id, { code: LATE_OUTCOME_CODES.unknown, message: lostMessage(error) }),
      );
    } else {
      journal((j) => j.failed(claim.job_id, { ...result, error }));
    }
    return result;
  }
}

function lostMessage(error: { code: string; message: string }): string {
  return `the connection to the database broke during the statement, so the agent cannot tell whether it committed (${error.message})`;
}

/**
 * Writes one journal step after the statement ended. A write that fails (a full disk) is logged
 * and the result still reported: the live report is what the journal only backs up, and
 * dropping it would lose the very outcome the journal exists to keep.
 */
function journalWriter(jobId: string, deps: JobRunnerDeps): (write: (j: OutcomeJournal) => void) => void {
  return (write) => {
    if (deps.journal === undefined) return;
    try {
      write(deps.journal);
    } catch (err) {
      deps.logger.error(
        { job_id: jobId, err: describeError(err) },
        "could not write the outcome journal; reporting the result without it",
      );
    }
  };
}

function resultMaxBytes(claim: ClaimResponse, db: DatabaseConfig): number {
  const asked = claim.result_max_bytes;
  return asked !== undefined && Number.isSafeInteger(asked) && asked > 0
    ? Math.min(asked, db.resultMaxBytes)
    : db.resultMaxBytes;
}

/**
 * The bot's limits for this job, capped by this database's configured ceilings. A value the bot
 * sends that is not a positive integer is ignored: a statement timeout of 0 means "none" in
 * PostgreSQL and MariaDB.
 */
export function executeOptions(
  claim: ClaimResponse,
  db: DatabaseConfig,
  operation: OperationClass,
): ExecuteOptions {
  const capped = (asked: number, ceiling: number): number =>
    Number.isSafeInteger(asked) && asked > 0 ? Math.min(asked, ceiling) : ceiling;
  return {
    operation,
    statementTimeoutMs: capped(claim.statement_timeout_ms, db.statementTimeoutMs),
    rowCap: capped(claim.row_cap, db.rowCap),
  };
}

function failure(
  outcome: JobResultBody["outcome"],
  code: string,
  message: string,
  duration: number,
): JobResultBody {
  return { outcome, duration_ms: duration, error: { code, message } };
}

function executionFailure(
  err: unknown,
  signal: AbortSignal,
  logger: Logger,
  duration: number,
): JobResultBody {
  if (err instanceof DbwardError && err.code === "execution.cancelled") {
    const cause: unknown = signal.reason;
    const why = ABORTED[cause === "lease_lost" || cause === "shutdown" ? cause : "cancelled"];
    return failure("cancelled", why.code, why.message, duration);
  }
  // The driver's catalogue check refused the read before it ran: nothing was executed.
  if (
    err instanceof DbwardError &&
    (err.code === "sql.unverified" || err.code === "masking.unknown_column")
  ) {
    return failure("refused", err.code, err.message, duration);
  }
  if (err instanceof DbwardError) {
    const outcome = err.code === "execution.timeout" ? "timed_out" : "failed";
    return failure(outcome, err.code, err.message, duration);
  }
  // Not a database's answer: keep details in the agent's log, where they cannot leak to the bot.
  logger.error({ err: describeError(err) }, "unexpected error while executing a job");
  return failure(
    "failed",
    "internal",
    "the agent failed to run the statement; see the agent's log",
    duration,
  );
}
