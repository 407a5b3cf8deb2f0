/**
 * What a person's Slack Home tab shows: the requests waiting for their decision and their own
 * latest requests. A system read keyed by Slack user id, like describe-request.ts: the Home tab
 * is redrawn after changes nobody clicked for, so drawing it is not an authentication attempt
 * and audits nothing. It shows a suspended or unknown person nothing but that fact; anything
 * they then click goes through the normal, audited checks.
 */
import type { JoinRequestView, RequestView } from "@dbward/shared";
import { listJoinRequests, toJoinRequestView } from "../identity/join-requests.ts";
import { findUserBySlackId, listUsers, type User } from "../identity/users.ts";
import type { BotContext } from "./bot-context.ts";
import { can, userCaller } from "./caller.ts";
import { listAwaitingDecision } from "./list-awaiting-decision.ts";
import { listVisibleRequests } from "./read-requests.ts";

/** Requests of each kind drawn at most: keeps the tab within Slack's 100 blocks. */
export const HOME_LIMITS = { awaiting: 8, recent: 10, joinRequests: 5 } as const;

export type HomeDescription =
  | { readonly kind: "unlinked"; readonly slackUserId: string }
  | { readonly kind: "suspended"; readonly user: User }
  | {
      readonly kind: "active";
      readonly user: User;
      /** Pending requests whose current step this person may decide now, newest first. */
      readonly awaiting: readonly RequestView[];
      /** True when more are waiting than `awaiting` holds. */
      readonly moreAwaiting: boolean;
      /** Their own latest requests, newest first. */
      readonly recent: readonly RequestView[];
      /** Everyone the requests above name (requesters, deciders), to show by Slack mention. */
      readonly people: readonly User[];
      /**
       * For those who may decide join requests (`user.manage`): the pending ones, oldest first,
       * at most HOME_LIMITS.joinRequests, and how many wait in all. Absent for everyone else.
       */
      readonly joinRequests?: { readonly shown: readonly JoinRequestView[]; readonly total: number };
    };

export async function describeHome(ctx: BotContext, slackUserId: string): Promise<HomeDescription> {
  const user = await findUserBySlackId(ctx.store, slackUserId);
  if (user === undefined) return { kind: "unlinked", slackUserId };
  if (user.status !== "active") return { kind: "suspended", user };
  const caller = userCaller(ctx, user, "slack");
  const [waiting, recent, users] = await Promise.all([
    listAwaitingDecision(ctx, caller, HOME_LIMITS.awaiting + 1),
    listVisibleRequests(ctx, caller, { mine: true, limit: HOME_LIMITS.recent }),
    listUsers(ctx.store),
  ]);
  const awaiting = waiting.slice(0, HOME_LIMITS.awaiting);
  const joinRequests = can(caller, "user.manage") ? await pendingJoinRequests(ctx) : undefined;
  const named = new Set(
    [...awaiting, ...recent].flatMap((r) => [r.requester, ...r.approvals.map((a) => a.approver)]),
  );
  return {
    kind: "active",
    user: caller.user,
    awaiting,
    moreAwaiting: waiting.length > awaiting.length,
    recent,
    people: users.filter((u) => named.has(u.id)),
    ...(joinRequests !== undefined ? { joinRequests } : {}),
  };
}

/** Pending and not yet past their expiry (the sweeper may not have closed them yet). */
async function pendingJoinRequests(ctx: BotContext): Promise<{ shown: JoinRequestView[]; total: number }> {
  const now = ctx.clock.now().toISOString();
  const open = (await listJoinRequests(ctx.store, ["pending"]))
    .map(toJoinRequestView)
    .filter((j) => j.expires_at > now)
    .reverse();
  return { shown: open.slice(0, HOME_LIMITS.joinRequests), total: open.length };
}
