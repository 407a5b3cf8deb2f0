/**
 * Result retention: rows whose `result_expires_at` has passed are deleted from the result store,
 * and raw plans older than the retention are deleted from the preflights.
 * The execution is marked purged and the purge audited in one transaction; the files go after
 * the commit, so a crash in between leaves files the next sweep removes, never a result the
 * state store still offers but the store no longer holds.
 */
import { appendAudit } from "../audit/audit-log.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { purgePlansFinishedBy } from "../store/preflights-repo.ts";
import { listExpiredResults, markResultPurged } from "../store/results-retention-repo.ts";
import type { BotContext } from "./bot-context.ts";

/** Purges at most this many results per sweep, so one sweep stays short. */
const BATCH = 100;

export async function purgeExpiredResults(ctx: BotContext): Promise<number> {
  const now = ctx.clock.now().toISOString();
  const expired = await listExpiredResults(ctx.store, now, BATCH);
  let purged = 0;
  for (const exe of expired) {
    const changed = await inTransaction(ctx.store, async (tx) => {
      if (!(await markResultPurged(tx, exe.id, now))) return false;
      await appendAudit(
        tx,
        {
          actor: "system",
          action: "result.purged",
          target: `request:${exe.requestId}`,
          outcome: "success",
          details: { execution: exe.number, bytes: exe.bytes, reason: "retention" },
        },
        ctx.clock.now(),
      );
      return true;
    });
    if (changed) purged += 1;
    await ctx.results.remove(exe.id);
  }
  await purgeExpiredPlans(ctx);
  return purged;
}

/**
 * Plans made for approvers follow the same retention, counted from when they were made: the raw
 * plan goes (it can quote the statement's values), its summary stays with the request. One audit
 * event per sweep that deleted any.
 */
async function purgeExpiredPlans(ctx: BotContext): Promise<void> {
  const hours = ctx.config().results.retention_hours;
  if (hours === 0) return;
  const now = ctx.clock.now();
  const cutoff = new Date(now.getTime() - hours * 3_600_000).toISOString();
  await inTransaction(ctx.store, async (tx) => {
    const plans = await purgePlansFinishedBy(tx, cutoff);
    if (plans === 0) return;
    await appendAudit(
      tx,
      {
        actor: "system",
        action: "preflight.plans_purged",
        target: "preflights",
        outcome: "success",
        details: { plans, finished_before: cutoff, reason: "retention" },
      },
      now,
    );
  });
}
