/**
 * Near expiry, run by the sweeper: a request still pending in the last tenth of its time to live
 * (step-timers.ts) tells its requester once, so they can chase the approvers or ask again. The
 * warning is recorded (`request_nudges`, kind expiry), audited (`request.expiry_warned`) and
 * queued for Slack in one transaction; the key makes it once per request across restarts.
 */
import type { RequestId } from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import { isNearExpiry } from "../core/step-timers.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { hasNudgeSince, insertNudge, type Nudge } from "../store/request-nudges-repo.ts";
import { findRequest, type RequestRecord } from "../store/requests-repo.ts";
import type { BotContext, RequestChange } from "./bot-context.ts";

export const EXPIRY_WARNED = "request.expiry_warned";

/** Warns the requesters of requests now near expiry; returns how many were warned. */
export async function warnNearExpiry(ctx: BotContext, pending: readonly RequestRecord[]): Promise<number> {
  let warned = 0;
  for (const r of pending) {
    if (!isNearExpiry(r.createdAt, r.expiresAt, ctx.clock.now())) continue;
    if (!(await hasNudgeSince(ctx.store, nudgeOf(r.id)))) warned += await warn(ctx, r.id);
  }
  return warned;
}

const nudgeOf = (requestId: RequestId): Nudge => ({ requestId, kind: "expiry", step: 0, round: 0 });

async function warn(ctx: BotContext, id: RequestId): Promise<number> {
  const change: RequestChange = { requestId: id, action: EXPIRY_WARNED, actor: "system" };
  const done = await inTransaction(ctx.store, async (tx) => {
    const now = ctx.clock.now();
    const r = await findRequest(tx, id);
    if (r?.status !== "pending_approval" || !isNearExpiry(r.createdAt, r.expiresAt, now)) return false;
    if (!(await insertNudge(tx, nudgeOf(id), now))) return false;
    await appendAudit(
      tx,
      {
        actor: "system",
        action: EXPIRY_WARNED,
        target: `request:${id}`,
        outcome: "success",
        details: { expires_at: r.expiresAt },
      },
      now,
    );
    await ctx.recordChange(tx, change);
    return true;
  });
  if (!done) return 0;
  ctx.afterCommit(change);
  return 1;
}
