/**
 * The bot's periodic jobs, each run by whichever instance leads it (store/leadership.ts): the
 * sweeper (expiry, leases, reminders, escalation), the webhook dispatcher, audit checkpoints and
 * retention, and pruning: old Slack delivery identities and request signatures, rate-limit buckets
 * that are full again, and Home tabs no longer followed. On SQLite this process leads them all
 * from the start. A committed change on any instance wakes the leader's dispatcher and audit
 * maintenance through the bus (`changes`); their own timers cover a wake-up that is lost.
 */
import type { Logger } from "pino";
import { startAuditMaintenance, type AuditMaintenance } from "./audit/audit-maintenance.ts";
import type { Coordination } from "./store/coordination.ts";
import { pruneRateBuckets } from "./limits/rate-limits.ts";
import { forgetUnopenedHomeTabs } from "./slack/home-tabs.ts";
import { forgetOldDeliveries } from "./store/slack-inbound-repo.ts";
import { forgetExpiredSignatures } from "./store/slack-signatures-repo.ts";
import type { BotContext } from "./use-cases/bot-context.ts";
import { sweep } from "./use-cases/sweep.ts";
import { WebhookDispatcher, type DispatcherOptions } from "./webhooks/webhook-dispatcher.ts";

export interface LeaderJobsOptions {
  readonly logger: Logger;
  readonly webhooks: DispatcherOptions;
  readonly sweepIntervalMs: number;
}

/** A repeating task that never overlaps itself; `stop` waits for the run in progress. */
function repeating(everyMs: number, run: () => Promise<void>) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  return {
    start() {
      timer = setInterval(() => {
        running ??= run().finally(() => (running = undefined));
      }, everyMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

export async function startLeaderJobs(ctx: BotContext, c: Coordination, o: LeaderJobsOptions): Promise<void> {
  const log = (message: string) => (err: unknown) => o.logger.error({ err }, message);
  let webhooks: WebhookDispatcher | undefined;
  let audit: AuditMaintenance | undefined;
  c.bus.subscribe("changes", () => {
    webhooks?.onChange();
    audit?.poke();
  });
  await c.leadership.run("webhooks", {
    start: async () => {
      webhooks = await WebhookDispatcher.start(ctx, o.webhooks);
    },
    stop: async () => {
      const w = webhooks;
      webhooks = undefined;
      await w?.close();
    },
  });
  await c.leadership.run("audit_maintenance", {
    start: () => {
      audit = startAuditMaintenance(ctx, log("audit checkpoint or retention failed"));
    },
    stop: async () => {
      const a = audit;
      audit = undefined;
      await a?.stop();
    },
  });
  await c.leadership.run(
    "sweeper",
    repeating(o.sweepIntervalMs, () => sweep(ctx).then(() => undefined, log("sweep failed"))),
  );
  await c.leadership.run(
    "pruning",
    repeating(PRUNE_EVERY_MS, () => prune(ctx, o.logger)),
  );
}

const PRUNE_EVERY_MS = 3_600_000;

/** Each table on its own: one that cannot be pruned now does not keep the others from it. */
async function prune(ctx: BotContext, logger: Logger): Promise<void> {
  const now = ctx.clock.now();
  const steps: readonly [string, () => Promise<void>][] = [
    ["the Slack delivery identities", () => forgetOldDeliveries(ctx.store, now)],
    ["the Slack request signatures", () => forgetExpiredSignatures(ctx.store, now)],
    ["the rate-limit buckets", () => pruneRateBuckets(ctx.store, ctx.config(), now.getTime())],
    ["the followed Home tabs", () => forgetUnopenedHomeTabs(ctx.store, now)],
  ];
  for (const [what, step] of steps)
    await step().catch((err: unknown) => logger.error({ err }, `could not prune ${what}`));
}
