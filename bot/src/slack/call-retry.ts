/**
 * Retries for the Slack calls that answer a person at once (opening a modal, reading a profile):
 * a call is tried again with exponential backoff and jitter while its error can clear (a rate
 * limit, `not_in_channel`, the network), and gives up after the policy's last attempt. Deliveries
 * that must survive a restart are not retried here but in the outbox (slack-sender.ts), which
 * uses the same backoff (`backoffMs`).
 */
import type { Logger } from "pino";
import { SlackCallError } from "./slack-api.ts";

export interface RetryPolicy {
  /** Tries per call (or per outbox delivery), the first included. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** For calls a person is waiting on: a few tries within a minute. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 1000, maxDelayMs: 60_000 };

/**
 * For outbox deliveries: retried every few minutes at most until the row's age limit (24 h by
 * default, slack-sender.ts) rather than a count, so a Slack outage of hours loses nothing.
 */
export const OUTBOX_RETRY: RetryPolicy = { attempts: 10_000, baseDelayMs: 1000, maxDelayMs: 300_000 };

/** The wait before try `attempt + 1`: exponential with jitter, at least Slack's Retry-After, capped. */
export function backoffMs(
  policy: RetryPolicy,
  attempt: number,
  retryAfterMs: number | undefined,
  random: () => number,
): number {
  const exponential = policy.baseDelayMs * 2 ** Math.min(attempt - 1, 30);
  const jittered = exponential / 2 + (random() * exponential) / 2;
  return Math.min(policy.maxDelayMs, Math.max(jittered, retryAfterMs ?? 0));
}

export class CallRetry {
  private readonly stop = new AbortController();

  constructor(
    private readonly logger: Logger,
    private readonly policy: RetryPolicy = DEFAULT_RETRY,
    private readonly random: () => number = Math.random,
    /** Told of every failed try (metrics), with what was attempted and Slack's error code. */
    private readonly onFailure: (what: string, code: string) => void = () => undefined,
  ) {}

  /**
   * One Slack call, retried while it can succeed later. Resolves to its result, or to undefined
   * once it has failed for good (logged with what was attempted).
   */
  async attempt<T>(what: string, call: () => Promise<T>): Promise<T | undefined> {
    for (let n = 1; ; n += 1) {
      try {
        return await call();
      } catch (err) {
        const e = err instanceof SlackCallError ? err : undefined;
        this.onFailure(what, e?.code ?? "unknown_error");
        const retry = e?.retryable === true && n < this.policy.attempts && !this.stop.signal.aborted;
        if (!retry) {
          this.logger.error({ err, what, attempts: n }, "Slack call failed; giving up on it");
          return undefined;
        }
        const delay = backoffMs(this.policy, n, e.retryAfterMs, this.random);
        this.logger.warn(
          { what, code: e.code, attempt: n, retry_in_ms: delay },
          "Slack call failed; retrying",
        );
        await this.sleep(delay);
      }
    }
  }

  /** Stops retrying: sleeps end at once and calls after this are tried once. */
  close(): void {
    this.stop.abort();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.stop.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.stop.signal.addEventListener("abort", done, { once: true });
    });
  }
}
