/**
 * Sends webhooks after commit (STYLE.md: side effects happen after commit, never inside). The
 * after-commit listener only wakes the dispatcher; the dispatcher reads committed audit events
 * after its position and turns those that are request events (webhook-event.ts) into deliveries.
 * The audit chain is the outbox: what is sent is exactly what was recorded, in order. The position
 * is stored, and moves past an event only once each of its deliveries has a row
 * (routing-position.ts), so a start also routes what the last process committed but never routed.
 *
 * Nothing here can block or undo a change: the listener returns at once, deliveries run in the
 * background with bounded concurrency and a bounded queue, and every failure ends in a delivery
 * record (or, for a broken store, the log), never in the request's path.
 *
 * Retries are scheduled in the table (`next_attempt_at`), not in memory: memory only holds timers
 * for some of them. A start resumes every pending delivery (resume-delivery.ts), so a stop, clean
 * or not, loses no scheduled retry; a clean stop leaves the schedule as it is. Memory holds at most
 * `maxQueued` timers; past that, retries wait in the table and are read again once there is room.
 */
import { DbwardError } from "@dbward/shared";
import type { BotConfig } from "../config/bot-config.ts";
import { webhookSecret } from "../config/webhooks-config.ts";
import type { BotContext } from "../use-cases/bot-context.ts";
import { findPending, type Pending } from "./pending-deliveries.ts";
import { resumeDelivery } from "./resume-delivery.ts";
import { RoutingPosition, auditHead } from "./routing-position.ts";
import type { SendOutcome } from "./send-webhook.ts";
import { sendSigned } from "./signed-attempt.ts";
import { systemLookup, type Lookup } from "./ssrf-guard.ts";
import { finishAttempt, startAttempt, withoutRows } from "./webhook-deliveries.ts";
import {
  WEBHOOK_ACTIONS,
  eventBody,
  jobFor,
  loadEvent,
  subscribes,
  type Job,
  type StoredAudit,
} from "./webhook-event.ts";

export interface DispatcherOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly onError: (err: unknown, message: string) => void;
  /**
   * Called once per delivery that failed for good (metrics), with the last attempt's reason or why
   * its retry was not made (`webhook_removed`, `unsubscribed`, `max_attempts`, `event_missing`).
   */
  readonly onGaveUp?: (reason: string) => void;
  /** Resolves host names (tests inject one; the system resolver otherwise). */
  readonly lookup?: Lookup;
  readonly concurrency?: number;
  readonly maxQueued?: number;
}

const MAX_BACKOFF_MS = 600_000;
const PAGE = 100;

/** Refuses a config whose webhooks lack their secrets: at start and on reload, never half-working. */
export function assertWebhookSecrets(
  config: BotConfig,
  env: Readonly<Record<string, string | undefined>>,
): void {
  const problems = config.webhooks.flatMap((w, i) =>
    webhookSecret(w, env) === undefined
      ? [
          `webhooks.${i}.secret_env: environment variable ${w.secret_env} is not set or shorter than 32 characters`,
        ]
      : [],
  );
  if (problems.length > 0) {
    throw new DbwardError(
      "config.invalid",
      `webhook secrets are missing:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
      {
        problems,
      },
    );
  }
}

export class WebhookDispatcher {
  private pumping: Promise<void> | undefined;
  private again = false;
  private scanning: Promise<void> | undefined;
  /** The table may hold pending retries that no timer here stands for (true until the first scan). */
  private backlog = true;
  private closed = false;
  private running = 0;
  /** Attempts ready to be made now. */
  private readonly queue: Job[] = [];
  /** Timers for scheduled retries, by delivery id. */
  private readonly waiting = new Map<string, NodeJS.Timeout>();
  /** Delivery ids this process holds (waiting, resuming, queued or sending): a scan skips them. */
  private readonly held = new Set<string>();
  private readonly tasks = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  private readonly lookup: Lookup;
  private readonly limit: number;

  private constructor(
    private readonly ctx: BotContext,
    private readonly o: DispatcherOptions,
    private readonly position: RoutingPosition,
  ) {
    this.lookup = o.lookup ?? systemLookup;
    this.limit = o.maxQueued ?? 1000;
  }

  /**
   * Resumes what earlier processes left pending in the table (retries, attempts cut short), and
   * routes the events after the stored position, with the config as it is now. Without a stored
   * position it starts at the chain's head: the history is not sent.
   */
  static async start(ctx: BotContext, o: DispatcherOptions): Promise<WebhookDispatcher> {
    const position = await RoutingPosition.load(ctx.store, {
      enabled: () => ctx.config().webhooks.length > 0,
      clock: ctx.clock,
      onError: (err) => o.onError(err, "the webhook routing position could not be stored"),
    });
    const d = new WebhookDispatcher(ctx, o, position);
    await d.scan().catch((err: unknown) => o.onError(err, "pending webhook deliveries could not be read"));
    d.onChange();
    return d;
  }

  /** The after-commit listener: wakes the pump and returns at once. */
  onChange(): void {
    if (this.closed) return;
    if (this.pumping !== undefined) {
      this.again = true;
      return;
    }
    this.pumping = this.pump()
      .catch((err: unknown) => this.o.onError(err, "webhook dispatch failed"))
      .finally(() => {
        this.pumping = undefined;
        if (this.again) {
          this.again = false;
          this.onChange();
        }
      });
  }

  /**
   * Stops new work and waits until every started attempt is recorded. Scheduled retries stay in
   * the table for the next start; attempts cut short by the stop are recorded with a retry too.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.stopping.abort();
    for (const timer of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
    await this.pumping;
    await this.scanning;
    for (const job of this.queue.splice(0)) this.leave(job);
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
    await this.position.flush();
  }

  private async pump(): Promise<void> {
    while (!this.closed) {
      // Read up to a head taken first: seqs commit in order, so none below it can still appear.
      const head = await auditHead(this.ctx.store);
      if (this.ctx.config().webhooks.length === 0) {
        this.position.advance(head);
        return;
      }
      const rows = await this.ctx.store
        .selectFrom("audit_events")
        .select(["seq", "time", "actor", "action", "target"])
        .where("seq", ">", this.position.routedThrough)
        .where("seq", "<=", head)
        .where("action", "in", WEBHOOK_ACTIONS)
        .orderBy("seq")
        .limit(PAGE)
        .execute();
      for (const row of rows) {
        if (this.closed) return; // the stored position keeps the rest for the next start
        await this.route(row);
      }
      if (rows.length < PAGE) {
        this.position.advance(head);
        return;
      }
    }
  }

  /**
   * Deliveries that already have a row are not made again: an earlier process (or another one on
   * this store) made them, and any retry is the table's to resume.
   */
  private async route(audit: StoredAudit): Promise<void> {
    const fresh = await withoutRows(this.ctx.store, await this.firstAttempts(audit));
    this.position.advance(audit.seq, fresh.length);
    for (const job of fresh) this.enqueueFirst(job);
  }

  /** By the config as it is now, also for an event an earlier process committed. */
  private async firstAttempts(audit: StoredAudit): Promise<Job[]> {
    const event = await loadEvent(this.ctx.store, audit);
    if (event === undefined) return [];
    const config = this.ctx.config();
    const hooks = config.webhooks.filter((w) => subscribes(w, event));
    if (hooks.length === 0) return [];
    const body = eventBody(event, config);
    return hooks.map((hook) => jobFor(hook, event, body, 1));
  }

  private enqueueFirst(job: Job): void {
    if (this.closed) this.leave(job);
    else if (this.queue.length >= this.limit) {
      const error = `not sent: more than ${this.limit} deliveries were waiting`;
      this.track(this.recordUnsent(job, error, "queue_full"));
    } else {
      this.held.add(job.key.deliveryId);
      this.queue.push(job);
      this.drain();
    }
  }

  /**
   * A retry goes behind new events and takes at most half the queue, so a backlog of retries never
   * pushes new events out. False when it stays due in the table for a later scan or start.
   */
  private enqueueRetry(job: Job): boolean {
    if (this.closed || this.queue.length >= this.limit / 2) {
      this.backlog = true;
      return false;
    }
    this.queue.push(job);
    this.drain();
    return true;
  }

  /** A queued attempt the stop came before: a later attempt's previous row still has its retry. */
  private leave(job: Job): void {
    if (job.attempt === 1) this.track(this.recordUnsent(job, "not sent: the bot stopped first", "stopping"));
  }

  private drain(): void {
    while (!this.closed && this.running < (this.o.concurrency ?? 4) && this.queue.length > 0) {
      const job = this.queue.shift() as Job;
      this.running += 1;
      this.track(
        this.deliver(job).finally(() => {
          this.running -= 1;
          this.drain();
          this.rescan();
        }),
      );
    }
  }

  private track(task: Promise<void>): void {
    const tracked = task
      .catch((err: unknown) => this.o.onError(err, "recording a webhook delivery failed"))
      .finally(() => this.tasks.delete(tracked));
    this.tasks.add(tracked);
  }

  private async deliver(job: Job): Promise<void> {
    let next: Pending | undefined;
    try {
      const now = this.ctx.clock.now();
      const row = await startAttempt(this.ctx.store, { ...job.key, attempt: job.attempt }, now);
      if (job.attempt === 1) this.position.settled(job.key.auditSeq);
      if (row === undefined) return; // another process on this store has this attempt
      const outcome = await sendSigned(job, {
        env: this.o.env,
        now,
        lookup: this.lookup,
        allowPrivate: this.ctx.config().webhooks_allow_private,
        signal: this.stopping.signal,
      });
      const done = this.ctx.clock.now();
      const retryAt = retryTime(job, outcome, done);
      await finishAttempt(this.ctx.store, row, outcome, done, retryAt);
      if (retryAt === undefined) {
        if (outcome.status !== "succeeded") this.o.onGaveUp?.(outcome.reason);
        return;
      }
      const error = "error" in outcome ? outcome.error : "";
      next = { kind: "scheduled", row: { id: row, ...job.key, attempt: job.attempt, error }, due: retryAt };
    } finally {
      this.held.delete(job.key.deliveryId);
    }
    this.schedule(next);
  }

  /** Holds a timer for a pending delivery; when memory is full it waits in the table instead. */
  private schedule(p: Pending): void {
    if (this.closed) return;
    if (this.waiting.size >= this.limit) {
      this.backlog = true;
      return;
    }
    const id = p.row.deliveryId;
    // A due far ahead can only come from a clock change: resuming early is harmless.
    const delay = Math.min(Math.max(0, p.due.getTime() - this.ctx.clock.now().getTime()), MAX_BACKOFF_MS);
    this.held.add(id);
    this.waiting.set(
      id,
      setTimeout(() => {
        this.waiting.delete(id);
        this.track(this.resume(p));
      }, delay),
    );
  }

  private async resume(p: Pending): Promise<void> {
    let queued = false;
    try {
      if (this.closed) return;
      const r = await resumeDelivery(this.ctx, p);
      if (r.kind === "send") queued = this.enqueueRetry(r.job);
      else if (r.kind === "dropped") this.o.onGaveUp?.(r.reason);
    } catch (err) {
      // It stays pending in the table. No scan right away: a row that keeps failing would spin.
      this.backlog = true;
      throw err;
    } finally {
      if (!queued) this.held.delete(p.row.deliveryId);
    }
    this.rescan();
  }

  /** Reads pending deliveries the table holds beyond memory, once memory has room for them. */
  private rescan(): void {
    if (this.closed || !this.backlog || this.scanning !== undefined) return;
    if (this.queue.length > 0 || this.waiting.size > this.limit / 2) return;
    this.scanning = this.scan()
      .catch((err: unknown) => this.o.onError(err, "pending webhook deliveries could not be read"))
      .finally(() => {
        this.scanning = undefined;
      });
  }

  private async scan(): Promise<void> {
    const room = this.limit - this.waiting.size;
    const wanted = room + this.held.size;
    const found = await findPending(this.ctx.store, wanted);
    const fresh = found.filter((p) => !this.held.has(p.row.deliveryId));
    this.backlog = found.length === wanted || fresh.length > room;
    for (const p of fresh.slice(0, room)) this.schedule(p);
  }

  private async recordUnsent(job: Job, error: string, reason: "stopping" | "queue_full"): Promise<void> {
    const now = this.ctx.clock.now();
    const row = await startAttempt(this.ctx.store, { ...job.key, attempt: job.attempt }, now);
    if (job.attempt === 1) this.position.settled(job.key.auditSeq);
    if (row === undefined) return;
    // Stopping is no fault of the receiver's: the next start sends it, as the next attempt.
    const retryAt = reason === "stopping" && job.attempt < job.hook.max_attempts ? now : undefined;
    const outcome = { status: "failed", error, retryable: false, reason } as const;
    await finishAttempt(this.ctx.store, row, outcome, now, retryAt);
    if (retryAt === undefined) this.o.onGaveUp?.(reason);
  }
}

/**
 * When the next attempt is due, if there is one. An attempt the stop cut short may or may not
 * have arrived, like a timeout: it is retried, by the next start.
 */
function retryTime(job: Job, outcome: SendOutcome, now: Date): Date | undefined {
  if (outcome.status !== "failed" || job.attempt >= job.hook.max_attempts) return undefined;
  if (!outcome.retryable && outcome.reason !== "stopping") return undefined;
  const wait = Math.min(job.hook.backoff_ms * 2 ** (job.attempt - 1), MAX_BACKOFF_MS);
  return new Date(now.getTime() + wait);
}
