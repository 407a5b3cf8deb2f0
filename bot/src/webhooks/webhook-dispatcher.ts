/**
 * Sends webhooks after commit (STYLE.md: side effects happen after commit, never inside). The
 * after-commit listener only wakes the dispatcher; the dispatcher reads committed audit events
 * after its cursor and turns those that are request events (webhook-body.ts) into deliveries. The
 * audit chain is the outbox: what is sent is exactly what was recorded, in order.
 *
 * Nothing here can block or undo a change: the listener returns at once, deliveries run in the
 * background with bounded concurrency and a bounded queue, and every failure ends in a delivery
 * record (or, for a broken store, the log), never in the request's path. Scheduled retries live in
 * memory; a restart abandons them, and their rows say so when the bot stopped cleanly.
 */
import { DbwardError } from "@dbward/shared";
import type { BotConfig } from "../config/bot-config.ts";
import { webhookSecret, type WebhookConfig, type WebhookEvent } from "../config/webhooks-config.ts";
import type { BotContext } from "../use-cases/bot-context.ts";
import { sendWebhook, type SendOutcome } from "./send-webhook.ts";
import { systemLookup, type Lookup } from "./ssrf-guard.ts";
import { EVENT_FOR_ACTION, webhookBody, type AuditFacts } from "./webhook-body.ts";
import { abandonRetry, finishAttempt, startAttempt, type AttemptKey } from "./webhook-deliveries.ts";
import { signWebhook, SIGNATURE_HEADER } from "./webhook-signature.ts";

export interface DispatcherOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly onError: (err: unknown, message: string) => void;
  /** Called once per delivery that failed for good (metrics), with the last attempt's reason. */
  readonly onGaveUp?: (reason: string) => void;
  /** Resolves host names (tests inject one; the system resolver otherwise). */
  readonly lookup?: Lookup;
  readonly concurrency?: number;
  readonly maxQueued?: number;
}

interface Job {
  readonly hook: WebhookConfig;
  readonly key: Omit<AttemptKey, "attempt">;
  readonly body: string;
}

const ACTIONS = [...EVENT_FOR_ACTION.keys()];
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
  private cursor = 0;
  private pumping: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private running = 0;
  private readonly queue: Job[] = [];
  private readonly tasks = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  private readonly lookup: Lookup;

  private constructor(
    private readonly ctx: BotContext,
    private readonly o: DispatcherOptions,
  ) {
    this.lookup = o.lookup ?? systemLookup;
  }

  /** Starts at the chain's current head: events from before this start are not re-sent. */
  static async start(ctx: BotContext, o: DispatcherOptions): Promise<WebhookDispatcher> {
    const d = new WebhookDispatcher(ctx, o);
    d.cursor = await d.head();
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

  /** Stops retries and new work; waits until every started attempt is recorded. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopping.abort();
    await this.pumping;
    for (const job of this.queue.splice(0))
      this.track(this.recordUnsent(job, "not sent: the bot stopped first", "stopping"));
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }

  private async head(): Promise<number> {
    const row = await this.ctx.store
      .selectFrom("audit_events")
      .select("seq")
      .orderBy("seq", "desc")
      .limit(1)
      .executeTakeFirst();
    return row?.seq ?? 0;
  }

  private async pump(): Promise<void> {
    while (!this.closed) {
      if (this.ctx.config().webhooks.length === 0) {
        this.cursor = Math.max(this.cursor, await this.head());
        return;
      }
      const rows = await this.ctx.store
        .selectFrom("audit_events")
        .select(["seq", "time", "actor", "action", "target"])
        .where("seq", ">", this.cursor)
        .where("action", "in", ACTIONS)
        .orderBy("seq")
        .limit(PAGE)
        .execute();
      for (const row of rows) {
        await this.route(row);
        this.cursor = row.seq;
      }
      if (rows.length < PAGE) return;
    }
  }

  private async route(audit: AuditFacts & { readonly target: string }): Promise<void> {
    const type = EVENT_FOR_ACTION.get(audit.action);
    const id = /^request:(\d+)$/.exec(audit.target)?.[1];
    if (type === undefined || id === undefined) return;
    const r = await this.ctx.store
      .selectFrom("requests")
      .select(["id", "database_name", "environment", "operation", "requester", "sql_text", "sql_sha256"])
      .where("id", "=", Number(id))
      .executeTakeFirst();
    if (r === undefined) return;
    const config = this.ctx.config();
    const hooks = config.webhooks.filter((w) => matches(w, r.database_name, r.environment, type));
    if (hooks.length === 0) return;
    const dialect = config.databases.find((d) => d.name === r.database_name)?.dialect;
    const facts = {
      id: r.id,
      database: r.database_name,
      environment: r.environment,
      operation: r.operation,
      requester: r.requester,
      sqlText: r.sql_text,
      sqlSha256: r.sql_sha256,
    };
    const body = JSON.stringify(webhookBody(type, audit, facts, dialect));
    for (const hook of hooks) {
      const key = {
        deliveryId: `${audit.seq}.${hook.name}`,
        webhook: hook.name,
        event: type,
        auditSeq: audit.seq,
        requestId: r.id,
      };
      this.enqueue({ hook, key, body });
    }
  }

  private enqueue(job: Job): void {
    const limit = this.o.maxQueued ?? 1000;
    if (this.closed) this.track(this.recordUnsent(job, "not sent: the bot stopped first", "stopping"));
    else if (this.queue.length >= limit) {
      this.track(
        this.recordUnsent(job, `not sent: more than ${limit} deliveries were waiting`, "queue_full"),
      );
    } else {
      this.queue.push(job);
      this.drain();
    }
  }

  private drain(): void {
    while (!this.closed && this.running < (this.o.concurrency ?? 4) && this.queue.length > 0) {
      const job = this.queue.shift() as Job;
      this.running += 1;
      this.track(
        this.deliver(job).finally(() => {
          this.running -= 1;
          this.drain();
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
    for (let attempt = 1; attempt <= job.hook.max_attempts; attempt++) {
      const row = await startAttempt(this.ctx.store, { ...job.key, attempt }, this.ctx.clock.now());
      if (row === undefined) return; // another process on this store has it
      const outcome = await this.attempt(job);
      const wait = Math.min(job.hook.backoff_ms * 2 ** (attempt - 1), MAX_BACKOFF_MS);
      const retry =
        outcome.status === "failed" && outcome.retryable && attempt < job.hook.max_attempts && !this.closed;
      const now = this.ctx.clock.now();
      await finishAttempt(
        this.ctx.store,
        row,
        outcome,
        now,
        retry ? new Date(now.getTime() + wait) : undefined,
      );
      if (outcome.status !== "succeeded" && !retry) this.o.onGaveUp?.(outcome.reason);
      if (!retry) return;
      if (!(await sleep(wait, this.stopping.signal))) {
        await abandonRetry(this.ctx.store, row, "error" in outcome ? outcome.error : "");
        this.o.onGaveUp?.("stopping");
        return;
      }
    }
  }

  private async attempt(job: Job): Promise<SendOutcome> {
    const secret = webhookSecret(job.hook, this.o.env);
    if (secret === undefined) {
      return {
        status: "refused",
        error: `environment variable ${job.hook.secret_env} is not set`,
        reason: "secret",
      };
    }
    const timestamp = Math.floor(this.ctx.clock.now().getTime() / 1000);
    return sendWebhook({
      url: job.hook.url,
      body: job.body,
      headers: {
        "content-type": "application/json",
        "user-agent": "dbward-webhooks/1",
        "x-dbward-event": job.key.event,
        "x-dbward-delivery": job.key.deliveryId,
        [SIGNATURE_HEADER]: signWebhook(secret, timestamp, job.body),
      },
      timeoutMs: job.hook.timeout_ms,
      lookup: this.lookup,
      allowPrivate: this.ctx.config().webhooks_allow_private,
      signal: this.stopping.signal,
    });
  }

  private async recordUnsent(job: Job, error: string, reason: string): Promise<void> {
    const row = await startAttempt(this.ctx.store, { ...job.key, attempt: 1 }, this.ctx.clock.now());
    if (row === undefined) return;
    const outcome = { status: "failed", error, retryable: false, reason } as const;
    await finishAttempt(this.ctx.store, row, outcome, this.ctx.clock.now(), undefined);
    this.o.onGaveUp?.(reason);
  }
}

function matches(w: WebhookConfig, database: string, environment: string, type: WebhookEvent): boolean {
  return (
    (w.database === "*" || w.database === database) &&
    (w.environment === "*" || w.environment === environment) &&
    w.events.includes(type)
  );
}

/** Resolves true after `ms`, false as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
