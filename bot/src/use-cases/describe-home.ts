/**
 * What a person's Slack Home tab shows: the requests waiting for their decision and their own
 * latest requests. A system read keyed by Slack user id, like describe-request.ts: the Home tab
 * is redrawn after changes nobody clicked for, so drawing it is not an authentication attempt
 * and audits nothing. It shows a suspended or unknown person nothing but that fact; anything
 * they then click goes through the normal, audited checks.
 */
import type { RequestView } from "@dbward/shared";
import { findUserBySlackId, listUsers, type User } from "../identity/users.ts";
import type { BotContext } from "./bot-context.ts";
import { userCaller } from "./caller.ts";
import { listAwaitingDecision } from "./list-awaiting-decision.ts";
import { listVisibleRequests } from "./read-requests.ts";

/** Requests of each kind drawn at most: keeps the tab within Slack's 100 blocks. */
export const HOME_LIMITS = { awaiting: 8, recent: 10 } as const;

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
  };
}
