/**
 * Result retention: rows whose `result_expires_at` has passed are deleted from the result store.
 * The execution is marked purged and the purge audited in one transaction; the files go after
 * the commit, so a crash in between leaves files the next sweep removes, never a result the
 * state store still offers but the store no longer holds.
 */
import type { RequestId } from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import { inTransaction } from "../store/in-transaction.ts";
import type { BotContext } from "./bot-context.ts";

/** Purges at most this many results per sweep, so one sweep stays short. */
const BATCH = 100;

export async function purgeExpiredResults(ctx: BotContext): Promise<number> {
  const now = ctx.clock.now().toISOString();
  const expired = await ctx.store
    .selectFrom("executions")
    .select(["id", "request_id", "number", "result_bytes"])
    .where("result_expires_at", "<=", now)
    .where("result_purged_at", "is", null)
    .limit(BATCH)
    .execute();
  let purged = 0;
  for (const exe of expired) {
    const changed = await inTransaction(ctx.store, async (tx) => {
      const r = await tx
        .updateTable("executions")
        .set({ result_purged_at: now, result_json: null })
        .where("id", "=", exe.id)
        .where("result_purged_at", "is", null)
        .executeTakeFirst();
      if (r.numUpdatedRows !== 1n) return false;
      await appendAudit(
        tx,
        {
          actor: "system",
          action: "result.purged",
          target: `request:${exe.request_id as RequestId}`,
          outcome: "success",
          details: { execution: exe.number, bytes: exe.result_bytes, reason: "retention" },
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
