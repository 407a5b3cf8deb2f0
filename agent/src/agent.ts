/**
 * The agent's loop: long-poll the bot for jobs matching this agent's capabilities (the bot
 * answers as soon as one is dispatched), claim one (a 409 means another agent won it: move on),
 * run it through the job runner while heartbeating on the claim's interval, and submit the
 * result. Jobs run one at a time. Bot errors back off with jitter; `stop()` ends polling at once
 * but waits for a running job and its result submission, then closes the pools.
 *
 * Everything with a side effect outside the process is injected (fetch, clock, randomness,
 * drivers, logger), so tests drive the loop against a fake bot and control time.
 */
import {
  initSqlReview,
  type AgentCapability,
  type ClaimResponse,
  type JobOffer,
  type JobResultBody,
} from "@dbward/shared";
import type { Logger } from "pino";
import { createBackoff, type Backoff } from "./backoff.ts";
import { BotError, createBotClient, type BotClient } from "./bot-client.ts";
import { systemClock, type Clock } from "./clock.ts";
import { findDatabase, type AgentConfig } from "./config.ts";
import { createDriver, createDriverRegistry, type DriverFactory } from "./drivers/registry.ts";
import { startHeartbeats } from "./heartbeat.ts";
import { runJob, type JobRunnerDeps } from "./job-runner.ts";
import { openLedger } from "./ledger.ts";
import { createAgentLogger, describeClaim, describeError } from "./log.ts";
import { fitResultBody } from "./result-size.ts";

export interface AgentOptions {
  readonly fetch?: typeof fetch;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** A number in [0, 1) for backoff jitter. */
  readonly random?: () => number;
  /** Least time between two polls that found nothing, so a bot answering at once is not hammered. */
  readonly minPollIntervalMs?: number;
  /** Builds a database's driver; the default picks postgres, mysql or sqlite from the config. */
  readonly driverFactory?: DriverFactory;
}

export interface AgentHandle {
  /** Stops polling, waits for the running job and its result submission, closes pools and ledger. */
  stop(): Promise<void>;
  /** Settles when the loop has ended: resolves after `stop()`, rejects if the loop itself failed. */
  readonly done: Promise<void>;
}

interface Loop {
  readonly config: AgentConfig;
  readonly client: BotClient;
  readonly deps: JobRunnerDeps;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly backoff: Backoff;
  readonly random: () => number;
  readonly capabilities: AgentCapability[];
  readonly minPollIntervalMs: number;
  readonly stopped: AbortSignal;
}

/** How often a result submission is tried before the job is left to the bot's lease expiry. */
const SUBMIT_ATTEMPTS = 5;

/** Loads the SQL reviewer and the ledger, then starts the loop; resolves once it is running. */
export async function startAgent(config: AgentConfig, options: AgentOptions = {}): Promise<AgentHandle> {
  await initSqlReview();
  const stopper = new AbortController();
  const loop = buildLoop(config, options, stopper.signal);
  const { logger, deps } = loop;
  logger.info(
    {
      agent: config.id,
      bot_url: config.botUrl,
      capabilities: loop.capabilities,
      ledger_entries: deps.ledger.size,
    },
    "agent started",
  );
  const done = runLoop(loop);
  let stopping: Promise<void> | undefined;
  return {
    done,
    stop() {
      stopping ??= (async () => {
        stopper.abort();
        try {
          await done;
        } finally {
          await deps.drivers.closeAll();
          deps.ledger.close();
          logger.info({ agent: config.id }, "agent stopped");
        }
      })();
      return stopping;
    },
  };
}

function buildLoop(config: AgentConfig, options: AgentOptions, stopped: AbortSignal): Loop {
  const logger = options.logger ?? createAgentLogger();
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const ledger = openLedger(config.dataDir);
  const drivers = createDriverRegistry(
    options.driverFactory ?? ((db) => createDriver(db, idleErrorLogger(logger, db))),
  );
  return {
    config,
    client: createBotClient({
      botUrl: config.botUrl,
      agentToken: config.agentToken,
      ...fetchOption(options.fetch),
    }),
    deps: { config, ledger, drivers, clock, logger },
    clock,
    logger,
    backoff: createBackoff({ random }),
    random,
    capabilities: config.databases.map((d) => ({
      database: d.name,
      environment: d.environment,
      operations: [...d.operations],
    })),
    minPollIntervalMs: options.minPollIntervalMs ?? 1000,
    stopped,
  };
}

function fetchOption(f: typeof fetch | undefined): { fetch?: typeof fetch } {
  return f === undefined ? {} : { fetch: f };
}

function idleErrorLogger(logger: Logger, db: { name: string; environment: string }) {
  return (err: Error): void =>
    logger.warn(
      { database: db.name, environment: db.environment, err: describeError(err) },
      "idle database connection failed",
    );
}

async function runLoop(loop: Loop): Promise<void> {
  while (!loop.stopped.aborted) {
    try {
      await pollRound(loop);
    } catch (err) {
      if (loop.stopped.aborted) break;
      // Retrying is the point here: the bot restarting or a network blip must not end the agent.
      const delay = loop.backoff.next();
      loop.logger.warn({ err: describeError(err), retry_in_ms: delay }, "bot call failed; backing off");
      await loop.clock.sleep(delay, loop.stopped);
    }
  }
}

/**
 * One poll and the jobs it offered. A round that ran nothing waits out the least poll interval,
 * so a bot that answers at once (no work, or only jobs this agent leaves alone) is not hammered;
 * the wait also yields to the event loop even when the interval is 0.
 */
async function pollRound(loop: Loop): Promise<void> {
  const started = loop.clock.now().getTime();
  const { jobs } = await loop.client.poll(
    { capabilities: loop.capabilities, wait_ms: loop.config.pollWaitMs },
    loop.stopped,
  );
  loop.backoff.reset();
  let ran = false;
  for (const offer of jobs) {
    if (loop.stopped.aborted) return;
    ran = (await handleOffer(loop, offer)) || ran;
  }
  if (!ran) {
    const waited = loop.clock.now().getTime() - started;
    await loop.clock.sleep(Math.max(0, loop.minPollIntervalMs - waited), loop.stopped);
  }
}

/** Claims and runs one offered job; false when it was left alone or lost to another agent. */
async function handleOffer(loop: Loop, offer: JobOffer): Promise<boolean> {
  if (!findDatabase(loop.config, offer.database, offer.environment)?.operations.includes(offer.operation)) {
    // Claiming would only end in a refusal; leaving it lets an agent that can run it claim it.
    loop.logger.warn(offerFacts(offer), "offered a job outside this agent's capabilities; not claiming it");
    return false;
  }
  const claim = await claimJob(loop, offer);
  if (claim === undefined) return false;
  const facts = describeClaim(claim);
  loop.logger.info(facts, "job claimed");
  const heartbeats = startHeartbeats({
    client: loop.client,
    jobId: claim.job_id,
    intervalMs: claim.heartbeat_interval_ms,
    clock: loop.clock,
    logger: loop.logger,
  });
  let result: JobResultBody;
  try {
    result = await runJob(claim, loop.deps);
  } finally {
    await heartbeats.stop();
  }
  logOutcome(loop.logger, facts, result);
  await submitResult(loop, claim.job_id, fitResultBody(result));
  return true;
}

function offerFacts(offer: JobOffer): Record<string, unknown> {
  const { job_id, request_id, database, environment, operation } = offer;
  return { job_id, request_id, database, environment, operation };
}

/** The claim, or undefined when another agent won it or it is gone. */
async function claimJob(loop: Loop, offer: JobOffer): Promise<ClaimResponse | undefined> {
  try {
    return await loop.client.claim(offer.job_id);
  } catch (err) {
    if (err instanceof BotError && (err.status === 409 || err.status === 404)) {
      loop.logger.info(
        { job_id: offer.job_id, code: err.code },
        "job was claimed by another agent or is gone",
      );
      return undefined;
    }
    throw err;
  }
}

function logOutcome(logger: Logger, facts: Record<string, unknown>, result: JobResultBody): void {
  const summary = {
    ...facts,
    outcome: result.outcome,
    duration_ms: result.duration_ms,
    row_count: result.result?.row_count,
    truncated: result.result?.truncated,
    affected_rows: result.affected_rows,
    error_code: result.error?.code,
    // Refusal messages are the agent's own; a database's message can quote data, so it is not logged.
    ...(result.outcome === "refused" ? { error_message: result.error?.message } : {}),
  };
  if (result.outcome === "succeeded") logger.info(summary, "job finished");
  else logger.warn(summary, `job ${result.outcome}`);
}

/**
 * The statement has run: its result is retried through bot hiccups. A 4xx other than 408/429 is
 * final (the lease was lost, the job cancelled); the bot then records the job as lost.
 */
async function submitResult(loop: Loop, jobId: string, body: JobResultBody): Promise<void> {
  const backoff = createBackoff({ random: loop.random });
  for (let attempt = 1; ; attempt += 1) {
    try {
      await loop.client.submitResult(jobId, body);
      return;
    } catch (err) {
      const final =
        err instanceof BotError && err.status >= 400 && err.status < 500 && ![408, 429].includes(err.status);
      if (final || attempt >= SUBMIT_ATTEMPTS) {
        loop.logger.error(
          { job_id: jobId, attempt, err: describeError(err) },
          "result could not be submitted",
        );
        return;
      }
      const delay = backoff.next();
      loop.logger.warn(
        { job_id: jobId, attempt, err: describeError(err), retry_in_ms: delay },
        "result submission failed; retrying",
      );
      await loop.clock.sleep(delay);
    }
  }
}
