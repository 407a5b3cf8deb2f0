/**
 * Sends the Slack outbox. Rows are written with the change that causes them (or as soon as a
 * listener knows its answer), so this loop is the only place deliveries run, and memory holds
 * nothing a crash could lose: a row leaves the table only once Slack took it.
 *
 * - Order: one row per lane at a time, the oldest first; a row waiting for its retry holds its
 *   lane, so one request's post, thread and DMs stay in order. Lanes run in parallel.
 * - Retries: a failure that can clear (rate limit, `not_in_channel`, network, 5xx) is rescheduled
 *   in the table with exponential backoff, at least Slack's Retry-After; after the policy's last
 *   attempt, or once the row is older than `maxAgeMs`, it is marked failed, logged and counted.
 *   A failure that cannot clear fails the row at once. A failed row leaves its lane free.
 * - Leases: a row is leased while it runs and the lease is renewed; a sender that dies leaves its
 *   rows to whoever looks after the lease ends. Slack has no idempotency key, so a crash after
 *   Slack took a call but before the row was deleted sends that call again (at least once): a
 *   redraw or a Home tab is harmless twice; a DM or thread line may show twice.
 *
 * Nothing here can block or undo a change: it has committed.
 */
import { DbwardError } from "@dbward/shared";
import type { Logger } from "pino";
import type { Clock } from "../core/clock.ts";
import { backoffMs, type RetryPolicy } from "./call-retry.ts";
import type { Delivery } from "./delivery.ts";
import { SlackCallError } from "./slack-api.ts";

/** The outbox table as the sender uses it (store/slack-outbox-repo.ts). */
export interface OutboxStore {
  leaseDue(o: {
    now: Date;
    leaseMs: number;
    limit: number;
    busyLanes: ReadonlySet<string>;
  }): Promise<readonly OutboxRowView[]>;
  renewLeases(leases: readonly OutboxRowView[], until: Date): Promise<void>;
  saveProgress(lease: OutboxRowView, progress: readonly string[]): Promise<void>;
  finish(lease: OutboxRowView): Promise<void>;
  retryAt(lease: OutboxRowView, o: { at: Date; error: string; now: Date }): Promise<void>;
  fail(lease: OutboxRowView, o: { error: string; now: Date }): Promise<void>;
  /** When a row this sender could take falls due, lanes it is busy with left out. */
  nextDueAt(busyLanes: ReadonlySet<string>): Promise<Date | undefined>;
  hasPending(): Promise<boolean>;
  pruneFailed(before: Date): Promise<void>;
}

export interface OutboxRowView {
  readonly id: number;
  /** The token of the lease this sender holds on the row. */
  readonly leaseToken: string;
  readonly lane: string;
  readonly delivery: Delivery | { readonly unreadable: string };
  readonly progress: readonly string[];
  readonly attempts: number;
  readonly createdAt: string;
}

/** Parts of a delivery already done survive a retry, so a retry does not repeat them. */
export interface Progress {
  /** Runs `part` unless an earlier try finished it; records it as done once it has. */
  once(part: string, run: () => Promise<void>): Promise<void>;
}

export type RunDelivery = (delivery: Delivery, progress: Progress, row: OutboxRowView) => Promise<void>;

export interface SenderOptions {
  readonly store: OutboxStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly run: RunDelivery;
  readonly retry: RetryPolicy;
  /** A row older than this is given up on whatever its attempts. */
  readonly maxAgeMs?: number;
  readonly leaseMs?: number;
  /** Lanes delivered at once. */
  readonly concurrency?: number;
  /** How often the table is read without a wake-up (rows of another instance, ended leases). */
  readonly pollMs?: number;
  readonly random?: () => number;
  /** Told of each delivery given up on, by kind and the last error's code. */
  readonly onGaveUp?: (kind: string, code: string) => void;
  /** Told of every failed Slack call (metrics), by method and Slack's error code. */
  readonly onCallFailed?: (what: string, code: string) => void;
}

const DEFAULTS = { maxAgeMs: 24 * 3_600_000, leaseMs: 30_000, concurrency: 8, pollMs: 5000 };
/** The shortest wait between reads of the table when nothing could be taken. */
const MIN_WAIT_MS = 25;
/** Failed rows are kept this long for `dbward doctor`, then pruned. */
const FAILED_KEPT_MS = 7 * 24 * 3_600_000;

export class SlackSender {
  private readonly running = new Map<number, { row: OutboxRowView; done: Promise<void> }>();
  private readonly o: SenderOptions & typeof DEFAULTS;
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private closed = false;
  private loop: Promise<void> | undefined;
  private renewer: NodeJS.Timeout | undefined;
  private lastPrune = 0;

  constructor(o: SenderOptions) {
    this.o = { ...DEFAULTS, ...o };
  }

  start(): void {
    if (this.loop !== undefined) return;
    this.loop = this.pump();
    this.renewer = setInterval(() => this.renew(), Math.max(50, this.o.leaseMs / 3));
    this.renewer.unref();
  }

  /** Rows were added or may be due: look at the table now. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Resolves once no row is pending or running (tests; a row in backoff is waited for). */
  async idle(): Promise<void> {
    for (;;) {
      if (this.running.size > 0) {
        await Promise.allSettled([...this.running.values()].map((r) => r.done));
        continue;
      }
      if (!(await this.o.store.hasPending())) return;
      this.wake();
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Takes no more rows and waits for the running ones; what is left waits in the table. */
  async close(): Promise<void> {
    this.closed = true;
    this.wake();
    await this.loop;
    clearInterval(this.renewer);
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }

  private async pump(): Promise<void> {
    while (!this.closed) {
      this.woken = false;
      try {
        const taken = await this.take();
        if (taken > 0) continue;
        await this.sleep(await this.untilNextDue());
      } catch (err) {
        this.o.logger.error({ err }, "could not read the Slack outbox; trying again");
        await this.sleep(this.o.pollMs);
      }
    }
  }

  private async take(): Promise<number> {
    const free = this.o.concurrency - this.running.size;
    if (free <= 0) return 0;
    const now = this.o.clock.now();
    if (now.getTime() - this.lastPrune > 3_600_000) {
      this.lastPrune = now.getTime();
      await this.o.store.pruneFailed(new Date(now.getTime() - FAILED_KEPT_MS));
    }
    const rows = await this.o.store.leaseDue({
      now,
      leaseMs: this.o.leaseMs,
      limit: free,
      busyLanes: this.busyLanes(),
    });
    for (const row of rows) {
      const done = this.deliver(row).finally(() => {
        this.running.delete(row.id);
        this.wake();
      });
      this.running.set(row.id, { row, done });
    }
    return rows.length;
  }

  private busyLanes(): Set<string> {
    return new Set([...this.running.values()].map((r) => r.row.lane));
  }

  /**
   * How long to wait when nothing could be taken: until a row it could take falls due, within
   * [MIN_WAIT_MS, pollMs]. The floor keeps a row that is due but cannot be had (another sender's
   * lease is about to end, a clock step) from turning the wait into a busy loop on the store.
   */
  private async untilNextDue(): Promise<number> {
    if (this.running.size >= this.o.concurrency) return this.o.pollMs;
    const next = await this.o.store.nextDueAt(this.busyLanes());
    if (next === undefined) return this.o.pollMs;
    const wait = next.getTime() - this.o.clock.now().getTime();
    return Math.min(this.o.pollMs, Math.max(MIN_WAIT_MS, wait));
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }

  private renew(): void {
    const rows = [...this.running.values()].map((r) => r.row);
    const until = new Date(this.o.clock.now().getTime() + this.o.leaseMs);
    this.o.store
      .renewLeases(rows, until)
      .catch((err: unknown) => this.o.logger.warn({ err }, "could not renew Slack outbox leases"));
  }

  /** One row: run it, then delete, reschedule or fail it. Never throws. */
  private async deliver(row: OutboxRowView): Promise<void> {
    try {
      const outcome = await this.attempt(row);
      const now = this.o.clock.now();
      if (outcome === undefined) await this.o.store.finish(row);
      else if (outcome.retryAt !== undefined)
        await this.o.store.retryAt(row, { at: outcome.retryAt, error: outcome.error, now });
      else {
        await this.o.store.fail(row, { error: outcome.error, now });
        this.o.onGaveUp?.(kindOf(row), outcome.code);
      }
    } catch (err) {
      // The store refused the bookkeeping: the lease ends and the row runs again.
      this.o.logger.error({ err, lane: row.lane }, "could not record a Slack delivery's outcome");
    }
  }

  private async attempt(
    row: OutboxRowView,
  ): Promise<{ error: string; code: string; retryAt?: Date } | undefined> {
    const d = row.delivery;
    const log = { lane: row.lane, kind: kindOf(row), attempt: row.attempts + 1 };
    if ("unreadable" in d) {
      this.o.logger.error(
        { ...log, why: d.unreadable },
        "a Slack outbox row cannot be read; giving up on it",
      );
      return { error: `unreadable: ${d.unreadable}`, code: "unreadable" };
    }
    const now = this.o.clock.now();
    if (d.kind === "reply" && d.to.via === "response_url" && expired(row, now, RESPONSE_URL_LIFETIME_MS)) {
      this.o.logger.warn(log, "an answer's response_url expired before Slack took it; giving up on it");
      return { error: "response_url expired", code: "expired" };
    }
    try {
      await this.o.run(d, this.progress(row), row);
      return undefined;
    } catch (err) {
      const e = err instanceof SlackCallError ? err : undefined;
      if (e !== undefined) this.o.onCallFailed?.(e.what, e.code);
      const code = e?.code ?? (err instanceof Error ? err.name : "unknown_error");
      const error = err instanceof Error ? err.message : String(err);
      const attempts = row.attempts + 1;
      const retryable =
        canClear(err) && attempts < this.o.retry.attempts && !expired(row, now, this.o.maxAgeMs);
      const hint = e?.code === "not_in_channel" ? "invite the dbward app to the channel" : undefined;
      if (!retryable) {
        this.o.logger.error({ ...log, err, hint }, "Slack delivery failed; giving up on it");
        return { error, code };
      }
      const delay = backoffMs(this.o.retry, attempts, e?.retryAfterMs, this.o.random ?? Math.random);
      this.o.logger.warn({ ...log, code, retry_in_ms: delay, hint }, "Slack delivery failed; retrying");
      // From when Slack answered, not from before the call: Retry-After counts from its answer,
      // and a slow call would otherwise come back sooner than Slack asked.
      return { error, code, retryAt: new Date(this.o.clock.now().getTime() + delay) };
    }
  }

  private progress(row: OutboxRowView): Progress {
    const done = [...row.progress];
    return {
      once: async (part, run) => {
        if (done.includes(part)) return;
        await run();
        done.push(part);
        await this.o.store.saveProgress(row, done);
      },
    };
  }
}

/** Slack: a `response_url` takes up to five answers within 30 minutes. */
const RESPONSE_URL_LIFETIME_MS = 30 * 60_000;

function expired(row: OutboxRowView, now: Date, ms: number): boolean {
  return now.getTime() - new Date(row.createdAt).getTime() > ms;
}

/**
 * Whether waiting can help: Slack says so for its own errors; a coded dbward error (the request
 * is gone, an id is bad) will not clear; anything else — the store busy or locked, a socket
 * reset — may, and is retried within the row's limits.
 */
function canClear(err: unknown): boolean {
  if (err instanceof SlackCallError) return err.retryable;
  return !(err instanceof DbwardError);
}

function kindOf(row: OutboxRowView): string {
  return "unreadable" in row.delivery ? "unreadable" : row.delivery.kind;
}
