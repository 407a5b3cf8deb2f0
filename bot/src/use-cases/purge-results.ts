/**
 * Result retention: rows whose `result_expires_at` has passed are deleted from the result store.
 * The execution is marked purged and the purge audited in one transaction; the files go after
 * the commit, so a crash in between leaves files the next sweep removes, never a result the
 * state store still offers but the store no longer holds.
 */
import { appendAudit } from "../audit/audit-log.ts";
import { inTransaction } from "../store/in-transaction.ts";
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
  return purged;
}
