/**
 * A claimed preflight whose agent did not report within its lease fails ("the agent stopped
 * reporting"), audited and shown; it is not offered again: an agent that dies planning or dry-
 * running a statement should not be handed it again. Where a workflow needs the count
 * (`guard: dry_run_count`) the request then cannot be approved, and approvers are told why.
 */
import { appendAudit } from "../audit/audit-log.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { finishPreflightRow, listLapsedPreflights } from "../store/preflights-repo.ts";
import type { BotContext, RequestChange } from "./bot-context.ts";

export async function lapsePreflights(ctx: BotContext): Promise<number> {
  const now = ctx.clock.now();
  let lapsed = 0;
  for (const p of await listLapsedPreflights(ctx.store, now.toISOString())) {
    if (p.agentId === null) continue;
    const agentId = p.agentId;
    const change = await inTransaction(ctx.store, async (tx) => {
      const won = await finishPreflightRow(tx, p.id, agentId, {
        status: "failed",
        finishedAt: now.toISOString(),
        durationMs: null,
        error: {
          code: "preflight.lost",
          message: `agent ${agentId} stopped reporting before it sent a plan`,
        },
      });
      if (!won) return undefined; // it reported meanwhile
      await appendAudit(
        tx,
        {
          actor: "system",
          action: "request.preflight_finished",
          target: `request:${p.requestId}`,
          outcome: "failure",
          details: { kind: p.kind, code: "preflight.lost", agent: agentId },
        },
        now,
      );
      const recorded: RequestChange = {
        requestId: p.requestId,
        action: "request.preflight_finished",
        actor: "system",
      };
      await ctx.recordChange(tx, recorded);
      return recorded;
    });
    if (change !== undefined) {
      ctx.afterCommit(change);
      lapsed += 1;
    }
  }
  return lapsed;
}
