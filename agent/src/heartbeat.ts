/**
 * Heartbeats for a running job, on the interval the claim gave, so the bot extends the lease
 * while the statement runs. The answer carries cancellation: `cancel: true` (the request was
 * cancelled) or a 409 `job.lease_lost` (the bot gave the job up) stops the job through `onStop`,
 * and the driver then cancels the statement on the server. Any other failure (the bot is down)
 * is logged and retried on the next beat: the statement keeps running and its result is retried
 * until the bot is back.
 */
import type { Logger } from "pino";
import { BotError, type BotClient } from "./bot-client.ts";
import type { Clock } from "./clock.ts";
import { describeError } from "./log.ts";

export interface Heartbeats {
  /** Stops beating and waits for a beat in flight. */
  stop(): Promise<void>;
}

export interface HeartbeatOptions {
  readonly client: BotClient;
  readonly jobId: string;
  readonly intervalMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The bot asked to stop the job. */
  readonly onStop: (why: "cancelled" | "lease_lost") => void;
}

/** Below this a bot's interval would only load the bot. */
const MIN_INTERVAL_MS = 100;

export function startHeartbeats(options: HeartbeatOptions): Heartbeats {
  const stop = new AbortController();
  const interval = Math.max(MIN_INTERVAL_MS, options.intervalMs);
  const beating = (async () => {
    for (;;) {
      await options.clock.sleep(interval, stop.signal);
      if (stop.signal.aborted) return;
      await beat(options);
    }
  })();
  return {
    stop() {
      stop.abort();
      return beating;
    },
  };
}

async function beat({ client, jobId, logger, onStop }: HeartbeatOptions): Promise<void> {
  try {
    const answer = await client.heartbeat(jobId);
    if (answer.cancel) {
      logger.warn({ job_id: jobId }, "the bot asked to cancel the job; stopping the statement");
      onStop("cancelled");
    }
  } catch (err) {
    if (err instanceof BotError && err.code === "job.lease_lost") {
      logger.warn({ job_id: jobId }, "the bot no longer holds this job's lease; stopping the statement");
      onStop("lease_lost");
      return;
    }
    logger.warn({ job_id: jobId, err: describeError(err) }, "heartbeat failed");
  }
}
