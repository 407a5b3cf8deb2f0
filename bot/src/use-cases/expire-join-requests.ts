/**
 * Join requests nobody decided in time expire (the sweeper calls this). Each expiry is its own
 * compare-and-set with its audit event, so a decision racing the sweeper wins or loses cleanly.
 * What expired goes to `ctx.afterJoinRequestExpired` after commit, for an adapter to tell the people.
 */
import type { JoinRequestView } from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import { closeJoinRequest, findJoinRequest, toJoinRequestView } from "../identity/join-requests.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { listDueJoinRequestIds } from "../store/join-requests-repo.ts";
import type { BotContext } from "./bot-context.ts";

export async function expireJoinRequests(ctx: BotContext): Promise<JoinRequestView[]> {
  const now = ctx.clock.now();
  const due = await listDueJoinRequestIds(ctx.store, now.toISOString());
  const expired: JoinRequestView[] = [];
  for (const id of due) {
    const won = await inTransaction(ctx.store, async (tx) => {
      const closed = await closeJoinRequest(tx, id, {
        status: "expired",
        decidedBy: null,
        decidedAt: now.toISOString(),
        reason: "no decision in time",
        userId: null,
      });
      if (closed)
        await appendAudit(
          tx,
          { actor: "system", action: "join.expired", target: `join:${id}`, outcome: "success", details: {} },
          now,
        );
      return closed;
    });
    const row = won ? await findJoinRequest(ctx.store, id) : undefined;
    if (row !== undefined) expired.push(toJoinRequestView(row));
  }
  for (const view of expired) ctx.afterJoinRequestExpired?.(view);
  return expired;
}
