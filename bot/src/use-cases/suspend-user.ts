/**
 * Suspend a user (`user.manage`): in one transaction the status changes, every request of theirs
 * that has not started running is cancelled through the state machine, and every API token of
 * theirs is revoked — all audited together (SECURITY.md principle 4). From the next call on they
 * are refused everywhere: API token, OIDC JWT and Slack all resolve to this one record.
 */
import { DbwardError, type RequestId, type RequestStatus, type SuspensionView } from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import { revokeTokensOf } from "../identity/token-records.ts";
import { findUser, toUserView } from "../identity/users.ts";
import { inTransaction, type Tx } from "../store/in-transaction.ts";
import { listRequests } from "../store/requests-repo.ts";
import { casUserStatus } from "../store/users-repo.ts";
import { applyTransition } from "./apply-transition.ts";
import { assertAdminRemains, refuseLockout } from "./assert-admin-remains.ts";
import type { BotContext, RequestChange } from "./bot-context.ts";
import { actorOf, can, type UserCaller } from "./caller.ts";
import { recordDenial } from "./record-denial.ts";

/** Requests that have not started: cancelling them needs no agent to stop anything. */
const NOT_STARTED: readonly RequestStatus[] = ["pending_approval", "approved", "dispatched"];

export async function suspendUser(
  ctx: BotContext,
  caller: UserCaller,
  id: string,
  reasonText: string,
): Promise<SuspensionView> {
  const actor = actorOf(caller);
  const refuse = (message: string): Promise<never> =>
    recordDenial(ctx, {
      actor,
      action: "user.suspend_refused",
      target: `user:${id}`,
      error: new DbwardError("auth.forbidden", message),
    });
  if (!can(caller, "user.manage")) return refuse("only an admin can suspend users");
  if (id === caller.user.id) return refuse("you cannot suspend yourself; ask another admin");
  const reason = reasonText.trim();
  if (reason === "" || reason.length > 500)
    throw new DbwardError("request.invalid", "a reason (1-500 characters) is required to suspend someone");
  const now = ctx.clock.now();
  const cancelledChange = (requestId: RequestId): RequestChange => ({
    requestId,
    action: "request.cancelled",
    actor,
  });
  const done = await inTransaction(ctx.store, async (tx) => {
    const user = await findUser(tx, id);
    if (user === undefined) throw new DbwardError("user.not_found", `there is no user ${id}`);
    if (user.status === "suspended") return { cancelled: [], revoked: [] };
    await assertAdminRemains(tx, ctx.config().roles, { userId: id, suspended: true });
    await casUserStatus(tx, id, "active", "suspended", now);
    await appendAudit(
      tx,
      {
        actor,
        action: "user.suspended",
        target: `user:${id}`,
        outcome: "success",
        details: { reason, via: caller.via },
      },
      now,
    );
    const cancelled = await cancelNotStarted(tx, id, actor, reason, now);
    for (const requestId of cancelled) await ctx.recordChange(tx, cancelledChange(requestId));
    const revoked = await revokeTokensOf(tx, "user", id, now);
    for (const tokenId of revoked) {
      await appendAudit(
        tx,
        {
          actor,
          action: "token.revoked",
          target: `user:${id}`,
          outcome: "success",
          details: { token_id: tokenId, reason: "user suspended" },
        },
        now,
      );
    }
    return { cancelled, revoked };
  }).catch((err: unknown) =>
    refuseLockout(ctx, err, { actor, action: "user.suspend_refused", target: `user:${id}` }),
  );
  for (const requestId of done.cancelled) ctx.afterCommit(cancelledChange(requestId));
  const user = await findUser(ctx.store, id);
  if (user === undefined) throw new DbwardError("user.not_found", `there is no user ${id}`);
  return { user: toUserView(user), cancelled_requests: [...done.cancelled], revoked_tokens: done.revoked };
}

async function cancelNotStarted(
  tx: Tx,
  requester: string,
  actor: string,
  reason: string,
  now: Date,
): Promise<RequestId[]> {
  const cancelled: RequestId[] = [];
  for (;;) {
    const page = await listRequests(tx, { requester, statuses: NOT_STARTED, limit: 500 });
    if (page.length === 0) return cancelled;
    for (const request of page) {
      const text = `requester suspended: ${reason}`;
      await applyTransition(tx, request, {
        event: "cancel",
        actor,
        action: "request.cancelled",
        now,
        statusReason: text,
        details: { reason: text },
      });
      cancelled.push(request.id);
    }
  }
}
