/**
 * Slack deliveries after commit. Jobs run one after another per key (one request's post, its
 * updates and thread replies stay in order) and in parallel across keys. Each Slack call inside a
 * job is retried with exponential backoff and jitter while its error can clear (rate limit,
 * `not_in_channel`, network); a call that finally fails is logged and the job goes on. Nothing
 * here can undo or hold up the change that caused the delivery: the change has committed.
 */
import type { Logger } from "pino";
import { SlackCallError } from "./slack-api.ts";

export interface RetryPolicy {
  /** Tries per call, the first included. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 1000, maxDelayMs: 60_000 };

/** Jobs waiting at most (SECURITY.md: bounded queues). */
const MAX_PENDING = 10_000;
/** Slack calls in flight at once: Slack rate-limits bursts, and a burst of sockets helps nobody. */
const MAX_CONCURRENT_CALLS = 16;

export class DeliveryQueue {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly stop = new AbortController();
  private pending = 0;
  private calling = 0;
  private readonly callers: (() => void)[] = [];

  constructor(
    private readonly logger: Logger,
    private readonly policy: RetryPolicy = DEFAULT_RETRY,
    private readonly random: () => number = Math.random,
    /** Told of every failed try (metrics), with what was attempted and Slack's error code. */
    private readonly onFailure: (what: string, code: string) => void = () => undefined,
  ) {}

  /**
   * Runs `job` after the jobs queued before it under `key`. Never throws; failures are logged.
   * False when the job was dropped: the queue is stopping or full.
   */
  enqueue(key: string, job: () => Promise<void>): boolean {
    if (this.stop.signal.aborted) return false;
    if (this.pending >= MAX_PENDING) {
      this.logger.error({ key }, "Slack delivery queue is full; dropping a delivery");
      return false;
    }
    this.pending += 1;
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous
      .then(job)
      .catch((err: unknown) => this.logger.error({ err, key }, "Slack delivery job failed"))
      .finally(() => {
        this.pending -= 1;
        if (this.chains.get(key) === next) this.chains.delete(key);
      });
    this.chains.set(key, next);
    return true;
  }

  /**
   * One Slack call, retried while it can succeed later. Resolves to its result, or to undefined
   * once it has failed for good (logged with what was attempted).
   */
  async attempt<T>(what: string, call: () => Promise<T>): Promise<T | undefined> {
    for (let n = 1; ; n += 1) {
      try {
        return await this.limited(call);
      } catch (err) {
        const e = err instanceof SlackCallError ? err : undefined;
        this.onFailure(what, e?.code ?? "unknown_error");
        const retry = e?.retryable === true && n < this.policy.attempts && !this.stop.signal.aborted;
        const hint = e?.code === "not_in_channel" ? "invite the dbward app to the channel" : undefined;
        if (!retry) {
          this.logger.error({ err, what, attempts: n, hint }, "Slack call failed; giving up on it");
          return undefined;
        }
        const delay = this.delay(n, e.retryAfterMs);
        this.logger.warn(
          { what, code: e.code, attempt: n, retry_in_ms: delay, hint },
          "Slack call failed; retrying",
        );
        await this.sleep(delay);
      }
    }
  }

  /** Resolves when every job queued so far has finished. */
  async idle(): Promise<void> {
    while (this.chains.size > 0) await Promise.all([...this.chains.values()]);
  }

  /** Stops retrying (sleeps end at once), refuses new jobs, and waits for running ones. */
  async close(): Promise<void> {
    this.stop.abort();
    await this.idle();
  }

  private async limited<T>(call: () => Promise<T>): Promise<T> {
    if (this.calling >= MAX_CONCURRENT_CALLS) await new Promise<void>((r) => this.callers.push(r));
    this.calling += 1;
    try {
      return await call();
    } finally {
      this.calling -= 1;
      this.callers.shift()?.();
    }
  }

  private delay(attempt: number, retryAfterMs: number | undefined): number {
    const exponential = this.policy.baseDelayMs * 2 ** (attempt - 1);
    const jittered = exponential / 2 + (this.random() * exponential) / 2;
    return Math.min(this.policy.maxDelayMs, Math.max(jittered, retryAfterMs ?? 0));
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
