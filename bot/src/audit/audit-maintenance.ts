/**
 * The bot's background audit work: sign checkpoints when due, purge what retention allows. Runs
 * on a timer and when a change commits (`poke`); runs never overlap, and `stop` waits for the one
 * in progress so the store is never closed under it.
 */
import type { BotContext } from "../use-cases/bot-context.ts";
import { takeCheckpointIfDue } from "./audit-checkpoints.ts";
import { purgeExpiredAudit } from "./audit-retention.ts";

export interface AuditMaintenance {
  /** Asks for a run soon (after a change committed). */
  poke(): void;
  stop(): Promise<void>;
}

/** One pass: a checkpoint if due, then a purge if retention is set. */
export async function runAuditMaintenance(ctx: BotContext): Promise<void> {
  const audit = ctx.config().audit;
  const policy = { everyEvents: audit.checkpoint_every_events, everyMinutes: audit.checkpoint_every_minutes };
  await takeCheckpointIfDue(ctx.store, ctx.checkpointSigner, policy, ctx.clock.now());
  if (audit.retention_days !== undefined)
    await purgeExpiredAudit(ctx.store, audit.retention_days, ctx.clock.now());
}

export function startAuditMaintenance(
  ctx: BotContext,
  onError: (err: unknown) => void,
  intervalMs = 10_000,
): AuditMaintenance {
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  const run = (): void => {
    if (stopped) return;
    if (running !== undefined) {
      again = true;
      return;
    }
    running = runAuditMaintenance(ctx)
      .catch(onError)
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          run();
        }
      });
  };
  const timer = setInterval(run, intervalMs);
  timer.unref();
  run();
  return {
    poke: run,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
