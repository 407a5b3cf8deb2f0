/**
 * Heartbeats for a running job, on the interval the claim gave, so the bot extends the lease
 * while the statement runs. A failed heartbeat is logged and retried on the next beat: the
 * statement keeps running either way, because stopping it (on `cancel` or a lost lease) is the
 * cancellation work of #6; until then the bot's lease expiry marks such a job lost or timed out.
 */
import type { Logger } from "pino";
import type { BotClient } from "./bot-client.ts";
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

async function beat({ client, jobId, logger }: HeartbeatOptions): Promise<void> {
  try {
    const answer = await client.heartbeat(jobId);
    if (answer.cancel)
      logger.warn({ job_id: jobId }, "the bot asked to cancel the job; it runs to its end (#6)");
  } catch (err) {
    logger.warn({ job_id: jobId, err: describeError(err) }, "heartbeat failed");
  }
}
