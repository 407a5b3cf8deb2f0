/**
 * Retries a call to the bot through the bot's restarts and network blips, with backoff and
 * jitter, for a bounded time (the agent's `result_retry_ms`). An answer that retrying cannot
 * change (a 4xx other than 408 and 429: the lease was lost, the job is unknown) is thrown at
 * once; so is the last error once the time is up.
 */
import { createBackoff } from "./backoff.ts";
import { BotError } from "./bot-client.ts";
import type { Clock } from "./clock.ts";

export interface RetryOptions {
  readonly clock: Clock;
  readonly random: () => number;
  /** How long to keep trying, from the first attempt. */
  readonly forMs: number;
  /** Called before each wait, for a log line. */
  readonly onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** True for a bot answer that will not change by asking again. */
export function isFinalAnswer(err: unknown): boolean {
  return err instanceof BotError && err.status >= 400 && err.status < 500 && ![408, 429].includes(err.status);
}

export async function retryBotCall<T>(call: () => Promise<T>, options: RetryOptions): Promise<T> {
  const backoff = createBackoff({ random: options.random, maxMs: 10_000 });
  const deadline = options.clock.now().getTime() + options.forMs;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (err) {
      const left = deadline - options.clock.now().getTime();
      if (isFinalAnswer(err) || left <= 0) throw err;
      const delay = Math.min(backoff.next(), left);
      options.onRetry?.(err, attempt, delay);
      await options.clock.sleep(delay);
    }
  }
}
