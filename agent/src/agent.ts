/**
 * The agent's loop: long-poll the bot for jobs matching this agent's capabilities (the bot
 * answers as soon as one is dispatched), claim one (a 409 means another agent won it: move on),
 * run it (run-claimed-job.ts), make the plans it was offered for requests still waiting for
 * approval (run-preflight.ts), and poll again. Jobs run one at a time. Bot errors back off with
 * jitter. After each answered poll, results the bot could not take earlier (the outbox) are
 * sent again, and so is what the outcome journal knows of jobs an earlier run never reported.
 * Each answered poll also starts the schema collections that are due (schema/schema-reporter.ts),
 * in the background.
 *
 * `stop()` (SIGTERM) ends polling at once, lets a running job go on for `drain_ms`, then
 * cancels it on the database server, delivers its result (or keeps it in the outbox), closes
 * the pools and removes the health files.
 *
 * Everything with a side effect outside the process is injected (fetch, clock, randomness,
 * drivers, logger), so tests drive the loop against a fake bot and control time.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { initSqlReview, type AgentCapability, type JobOffer } from "@dbward/shared";
import type { Logger } from "pino";
import { createBackoff } from "./backoff.ts";
import { BotError, createBotClient } from "./bot-client.ts";
import { systemClock, type Clock } from "./clock.ts";
import { findDatabase, type AgentConfig } from "./config.ts";
import { createDatabaseHealth } from "./database-health.ts";
import { createDriver, createDriverRegistry, type DriverFactory } from "./drivers/registry.ts";
import { startHealthFiles } from "./health-files.ts";
import { openLedger } from "./ledger.ts";
import { openOutcomeJournal } from "./outcome-journal.ts";
import { createAgentLogger, describeError } from "./log.ts";
import { openResultOutbox } from "./result-outbox.ts";
import { flushJournal, flushOutbox, runClaimedJob, type AgentLoop } from "./run-claimed-job.ts";
import { createPlanPools, handlePreflight, preflightsMade } from "./run-preflight.ts";
import { createSchemaCollector } from "./schema/schema-collector.ts";
import { createSchemaReporter } from "./schema/schema-reporter.ts";

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
  /** Target size of a result chunk (tests make it small to exercise many chunks). */
  readonly chunkBytes?: number;
  /** Backoff of the reconnect probes of a lost database (tests make it short). */
  readonly reconnectBaseMs?: number;
}

export interface AgentHandle {
  /** Stops polling, drains or cancels the running job, delivers its result, closes everything. */
  stop(): Promise<void>;
  /** Settles when the loop has ended: resolves after `stop()`, rejects if the loop itself failed. */
  readonly done: Promise<void>;
}

/** Loads the SQL reviewer and the ledger, then starts the loop; resolves once it is running. */
export async function startAgent(config: AgentConfig, options: AgentOptions = {}): Promise<AgentHandle> {
  await initSqlReview();
  const loop = buildLoop(config, options);
  const { logger, deps } = loop;
  logger.info(
    {
      agent: config.id,
      bot_url: config.botUrl,
      capabilities: capabilities(loop),
      ledger_entries: deps.ledger.size,
      outbox_entries: loop.outbox.list().length,
      unreported_jobs: loop.journal.pending().length,
    },
    "agent started",
  );
  const done = runLoop(loop);
  let stopping: Promise<void> | undefined;
  return {
    done,
    stop() {
      stopping ??= (async () => {
        loop.stopper.abort();
        loop.files.setReady(false);
        try {
          await drain(loop, done);
        } finally {
          await loop.health.stop();
          await loop.schema.stop();
          await deps.drivers.closeAll();
          await loop.plans.closeAll();
          deps.ledger.close();
          loop.journal.close();
          loop.files.close();
          logger.info({ agent: config.id }, "agent stopped");
        }
      })();
      return stopping;
    },
  };
}

function buildLoop(config: AgentConfig, options: AgentOptions): AgentLoop & { stopper: AbortController } {
  const logger = options.logger ?? createAgentLogger();
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const ledger = openLedger(config.dataDir);
  const journal = openOutcomeJournal(config.dataDir, () => clock.now());
  const drivers = createDriverRegistry(
    // The registry hands each driver its idle-error callback, which reaches the database health
    // (degraded, probed, healthy again); the health logs the outage once.
    options.driverFactory ?? createDriver,
  );
  const stopper = new AbortController();
  const client = createBotClient({
    botUrl: config.botUrl,
    agentToken: config.agentToken,
    session: sessionOf(config.dataDir),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
  const health = createDatabaseHealth({
    drivers,
    clock,
    random,
    logger,
    ...(options.reconnectBaseMs === undefined
      ? {}
      : { probeBaseMs: options.reconnectBaseMs, probeMaxMs: options.reconnectBaseMs * 4 }),
  });
  return {
    config,
    client,
    deps: { config, ledger, journal, drivers, clock, logger },
    clock,
    logger,
    random,
    outbox: openResultOutbox(config.dataDir),
    journal,
    health,
    schema: createSchemaReporter({
      config,
      client,
      collector: createSchemaCollector(logger),
      clock,
      logger,
      isDegraded: (db) => health.isDegraded(db),
    }),
    files: startHealthFiles({ liveness: config.livenessFile, readiness: config.readinessFile }),
    minPollIntervalMs: options.minPollIntervalMs ?? 1000,
    stopped: stopper.signal,
    stopper,
    running: undefined,
    plans: createPlanPools(logger),
    ...(options.chunkBytes === undefined ? {} : { chunkBytes: options.chunkBytes }),
  };
}

/** The file naming this data directory's polling session (docs/agent.md: one process per agent id). */
export const SESSION_FILE = "session-id";

/**
 * The session this agent polls as: one per data directory, as its ledger is, so a restart keeps
 * it and a second process elsewhere with the same agent id is refused by the bot.
 */
function sessionOf(dataDir: string): string {
  const file = join(dataDir, SESSION_FILE);
  try {
    return readFileSync(file, "utf8").trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const session = randomBytes(24).toString("base64url");
  writeFileSync(file, `${session}\n`, { mode: 0o600, flag: "wx" });
  return session;
}

/** The capability list without the databases this agent cannot reach now. */
function capabilities(loop: AgentLoop): AgentCapability[] {
  return loop.config.databases
    .filter((d) => !loop.health.isDegraded(d))
    .map((d) => ({ database: d.name, environment: d.environment, operations: [...d.operations] }));
}

/** Waits `drain_ms` for the running job, then cancels it, and waits for the loop to end. */
async function drain(loop: AgentLoop, done: Promise<void>): Promise<void> {
  const job = loop.running;
  if (job !== undefined) {
    loop.logger.info(
      { job_id: job.jobId, drain_ms: loop.config.drainMs },
      "stopping: draining the running job",
    );
    const timer = new AbortController();
    const finished = await Promise.race([
      job.finished.then(() => true),
      loop.clock.sleep(loop.config.drainMs, timer.signal).then(() => false),
    ]);
    timer.abort();
    if (!finished) {
      loop.logger.warn({ job_id: job.jobId }, "drain time is up: cancelling the running job");
      job.stop("shutdown");
    }
  }
  await done;
}

async function runLoop(loop: AgentLoop): Promise<void> {
  const backoff = createBackoff({ random: loop.random });
  while (!loop.stopped.aborted) {
    try {
      await pollRound(loop);
      backoff.reset();
    } catch (err) {
      if (loop.stopped.aborted) break;
      loop.files.setReady(false);
      // Retrying is the point here: the bot restarting or a network blip must not end the agent.
      const delay = backoff.next();
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
async function pollRound(loop: AgentLoop): Promise<void> {
  const started = loop.clock.now().getTime();
  const caps = capabilities(loop);
  const degraded = loop.health.degraded();
  // Not ready the moment no database is reachable, without waiting for the long poll's answer.
  if (caps.length === 0) loop.files.setReady(false);
  const { jobs, preflights = [] } = await loop.client.poll(
    {
      capabilities: caps,
      wait_ms: loop.config.pollWaitMs,
      ...(degraded.length > 0 ? { degraded } : {}),
      preflights: preflightsMade(loop.config),
    },
    loop.stopped,
  );
  loop.files.setReady(!loop.stopped.aborted && caps.length > 0);
  // In the background: the bot answered, so the schema context that is due goes out.
  loop.schema.tick();
  await flushOutbox(loop);
  await flushJournal(loop);
  let ran = false;
  for (const offer of jobs) {
    if (loop.stopped.aborted) return;
    ran = (await handleOffer(loop, offer)) || ran;
  }
  // After the jobs: an approved request waits for no plan, and plans are quick.
  for (const offer of preflights) {
    if (loop.stopped.aborted) return;
    ran = (await handlePreflight(loop, offer)) || ran;
  }
  if (!ran) {
    const waited = loop.clock.now().getTime() - started;
    await loop.clock.sleep(Math.max(0, loop.minPollIntervalMs - waited), loop.stopped);
  }
}

/** Claims and runs one offered job; false when it was left alone or lost to another agent. */
async function handleOffer(loop: AgentLoop, offer: JobOffer): Promise<boolean> {
  const db = findDatabase(loop.config, offer.database, offer.environment);
  if (db === undefined || !db.operations.includes(offer.operation) || loop.health.isDegraded(db)) {
    // Claiming would only end in a refusal; leaving it lets an agent that can run it claim it.
    loop.logger.warn(offerFacts(offer), "offered a job this agent cannot run now; not claiming it");
    return false;
  }
  let claim;
  try {
    claim = await loop.client.claim(offer.job_id);
  } catch (err) {
    // A session conflict is not a lost race: another process polls with this agent id.
    if (err instanceof BotError && err.code === "agent.session_conflict") throw err;
    if (err instanceof BotError && (err.status === 409 || err.status === 404)) {
      loop.logger.info(
        { job_id: offer.job_id, code: err.code },
        "job was claimed by another agent or is gone",
      );
      return false;
    }
    throw err;
  }
  await runClaimedJob(loop, claim);
  return true;
}

function offerFacts(offer: JobOffer): Record<string, unknown> {
  const { job_id, request_id, database, environment, operation } = offer;
  return { job_id, request_id, database, environment, operation };
}
