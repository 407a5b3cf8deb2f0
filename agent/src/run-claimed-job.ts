/**
 * One claimed job from start to delivered result: heartbeats while it runs (their answer can stop
 * it), rows streamed to the bot in chunks, then the final result. Both chunks and the result are
 * retried through bot outages for `result_retry_ms`; a result the bot still cannot take is kept
 * in the outbox and sent again when the bot answers a poll. A job is stopped (the driver cancels
 * the statement on the server) when the bot cancels it, when its lease is lost, and when the
 * agent's drain time runs out.
 *
 * The outcome journal (outcome-journal.ts) backs every report: a job is acknowledged there once
 * the bot took its report (or refused it for good); after a restart, every job it still holds is
 * reported from it (`flushJournal`), so a commit the bot never heard of is not left a silent `lost`.
 */
import type { ClaimResponse, JobResultBody, ResultSubmission } from "@dbward/shared";
import type { Logger } from "pino";
import type { PlanPools } from "./run-preflight.ts";
import { BotError, type BotClient } from "./bot-client.ts";
import type { Clock } from "./clock.ts";
import type { AgentConfig } from "./config.ts";
import type { DatabaseHealth } from "./database-health.ts";
import type { HealthFiles } from "./health-files.ts";
import { startHeartbeats } from "./heartbeat.ts";
import { runJob, type AbortCause, type JobRunnerDeps } from "./job-runner.ts";
import { describeClaim, describeError } from "./log.ts";
import { reportOf, type OutcomeJournal } from "./outcome-journal.ts";
import type { ResultOutbox } from "./result-outbox.ts";
import type { SchemaReporter } from "./schema/schema-reporter.ts";
import { isFinalAnswer, retryBotCall } from "./retry-bot-call.ts";

export interface RunningJob {
  readonly jobId: string;
  readonly finished: Promise<void>;
  stop(why: AbortCause): void;
}

/** The loop's state that a job uses (agent.ts builds it). */
export interface AgentLoop {
  readonly config: AgentConfig;
  readonly client: BotClient;
  readonly deps: JobRunnerDeps;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly random: () => number;
  readonly outbox: ResultOutbox;
  readonly journal: OutcomeJournal;
  readonly health: DatabaseHealth;
  readonly files: HealthFiles;
  readonly minPollIntervalMs: number;
  readonly stopped: AbortSignal;
  readonly chunkBytes?: number;
  /** The pools plans are made on (run-preflight.ts). */
  readonly plans: PlanPools;
  /** Sends each database's schema context to the bot (schema/schema-reporter.ts). */
  readonly schema: SchemaReporter;
  /** The job in progress, for the drain on stop. */
  running: RunningJob | undefined;
}

/** While stopping, a result is retried only this long before it goes to the outbox. */
const STOPPING_RETRY_MS = 5000;

export async function runClaimedJob(loop: AgentLoop, claim: ClaimResponse): Promise<void> {
  const facts = describeClaim(claim);
  loop.logger.info(facts, "job claimed");
  const abort = new AbortController();
  const stop = (why: AbortCause): void => {
    if (!abort.signal.aborted) abort.abort(why);
  };
  let finish = (): void => undefined;
  loop.running = { jobId: claim.job_id, finished: new Promise((resolve) => (finish = resolve)), stop };
  const heartbeats = startHeartbeats({
    client: loop.client,
    jobId: claim.job_id,
    intervalMs: claim.heartbeat_interval_ms,
    clock: loop.clock,
    logger: loop.logger,
    onStop: stop,
  });
  let result: JobResultBody;
  try {
    result = await runJob(claim, loop.deps, {
      signal: abort.signal,
      sendChunk: (seq, ndjson, columns) =>
        retryBotCall(
          () => loop.client.submitChunk(claim.job_id, seq, ndjson, columns),
          retryOptions(loop, claim.job_id),
        ),
      onUploadStop: (why, err) => {
        if (why === "cancel") return stop("cancelled");
        if (err instanceof BotError && err.code === "job.lease_lost") return stop("lease_lost");
        loop.logger.error(
          { job_id: claim.job_id, err: describeError(err) },
          "result rows could not be delivered to the bot; the result is reported as truncated",
        );
      },
      onConnectionLost: (db, err) => loop.health.lost(db, err),
      ...(loop.chunkBytes === undefined ? {} : { chunkBytes: loop.chunkBytes }),
    });
  } finally {
    await heartbeats.stop();
  }
  logOutcome(loop.logger, facts, result);
  // The schema changed: without this, approvers would see the old one until the next interval.
  if (claim.operation === "ddl" && result.outcome === "succeeded")
    loop.schema.refresh(claim.database, claim.environment);
  try {
    await deliverResult(loop, claim.job_id, journaledReport(loop.journal, claim.job_id, result));
  } finally {
    loop.running = undefined;
    finish();
  }
}

function retryOptions(loop: AgentLoop, jobId: string) {
  return {
    clock: loop.clock,
    random: loop.random,
    forMs: loop.stopped.aborted
      ? Math.min(loop.config.resultRetryMs, STOPPING_RETRY_MS)
      : loop.config.resultRetryMs,
    onRetry: (err: unknown, attempt: number, delay: number) =>
      loop.logger.warn(
        { job_id: jobId, attempt, err: describeError(err), retry_in_ms: delay },
        "the bot did not take the result; retrying",
      ),
  };
}

/**
 * What to report for a job that just ran: its result, unless the journal knows better (a write
 * whose connection broke is reported as "outcome unknown", not as a plain failure).
 */
function journaledReport(journal: OutcomeJournal, jobId: string, result: JobResultBody): ResultSubmission {
  const job = journal.pending().find((p) => p.job_id === jobId);
  return job?.state === "unknown" ? reportOf(job) : result;
}

/**
 * True when the bot will never take this report: the job is unknown to it, or the report is
 * malformed. A session conflict is not one: another process holds the agent id now, and the
 * report waits in the outbox until this one is the live session again.
 */
function isRefusedForGood(err: unknown): boolean {
  return isFinalAnswer(err) && !(err instanceof BotError && err.code === "agent.session_conflict");
}

/**
 * The statement has run: its result is retried through bot outages. An answer that will not
 * change (the job is unknown to the bot) ends it; running out of time keeps it in the outbox.
 */
async function deliverResult(loop: AgentLoop, jobId: string, body: ResultSubmission): Promise<void> {
  try {
    await retryBotCall(() => loop.client.submitResult(jobId, body), retryOptions(loop, jobId));
  } catch (err) {
    if (isRefusedForGood(err)) {
      loop.logger.error({ job_id: jobId, err: describeError(err) }, "the bot refused the result");
      loop.journal.acknowledged(jobId);
      return;
    }
    loop.outbox.put({ job_id: jobId, body, recorded_at: loop.clock.now().toISOString() });
    loop.logger.error(
      { job_id: jobId, err: describeError(err), outbox: loop.outbox.dir },
      "the bot could not be reached; the result is kept locally and sent when the bot is back",
    );
    return;
  }
  loop.journal.acknowledged(jobId);
}

/** Sends results kept in the outbox, oldest first; stops at the first one the bot cannot take. */
export async function flushOutbox(loop: AgentLoop): Promise<void> {
  for (const entry of loop.outbox.list()) {
    try {
      await loop.client.submitResult(entry.job_id, entry.body);
      loop.logger.info({ job_id: entry.job_id, recorded_at: entry.recorded_at }, "delivered a kept result");
    } catch (err) {
      if (!isRefusedForGood(err)) return;
      loop.logger.error({ job_id: entry.job_id, err: describeError(err) }, "the bot refused a kept result");
    }
    loop.journal.acknowledged(entry.job_id);
    loop.outbox.remove(entry.job_id);
  }
}

/**
 * Reports every job the journal holds that the bot never acknowledged and the outbox does not
 * hold: what an earlier process knew when it stopped (run between jobs, so none is running).
 * Stops at the first report the bot cannot take now; the next answered poll tries again.
 */
export async function flushJournal(loop: AgentLoop): Promise<void> {
  const kept = new Set(loop.outbox.list().map((e) => e.job_id));
  for (const job of loop.journal.pending()) {
    if (kept.has(job.job_id)) continue;
    const body = reportOf(job);
    try {
      await loop.client.submitResult(job.job_id, body);
      loop.logger.warn(
        { job_id: job.job_id, journaled: job.state, started_at: job.started_at },
        "reported a job an earlier run of this agent did not report",
      );
    } catch (err) {
      if (!isRefusedForGood(err)) return;
      loop.logger.error(
        { job_id: job.job_id, err: describeError(err) },
        "the bot refused a journaled outcome",
      );
    }
    loop.journal.acknowledged(job.job_id);
  }
}

function logOutcome(logger: Logger, facts: Record<string, unknown>, result: JobResultBody): void {
  const summary = {
    ...facts,
    outcome: result.outcome,
    duration_ms: result.duration_ms,
    row_count: result.streamed?.row_count,
    chunks: result.streamed?.chunks,
    truncated_by: result.streamed?.truncated_by,
    affected_rows: result.affected_rows,
    error_code: result.error?.code,
    // Refusal messages are the agent's own; a database's message can quote data, so it is not logged.
    ...(result.outcome === "refused" ? { error_message: result.error?.message } : {}),
  };
  if (result.outcome === "succeeded") logger.info(summary, "job finished");
  else logger.warn(summary, `job ${result.outcome}`);
}
