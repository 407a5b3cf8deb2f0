/** Join requests for admins and operators (`user.read`), newest first. */
import { DbwardError, type JoinRequestStatus, type JoinRequestView } from "@dbward/shared";
import { listJoinRequests, toJoinRequestView } from "../identity/join-requests.ts";
import type { BotContext } from "./bot-context.ts";
import { actorOf, can, type UserCaller } from "./caller.ts";
import { recordDenial } from "./record-denial.ts";

export const JOIN_REQUEST_STATUSES = [
  "pending",
  "approved",
  "rejected",
  "expired",
] as const satisfies readonly JoinRequestStatus[];

export async function listJoinRequestViews(
  ctx: BotContext,
  caller: UserCaller,
  statuses: readonly JoinRequestStatus[],
): Promise<JoinRequestView[]> {
  if (!can(caller, "user.read")) {
    return recordDenial(ctx, {
      actor: actorOf(caller),
      action: "join.list_refused",
      target: "",
      error: new DbwardError("auth.forbidden", "only admins and operators can see join requests"),
    });
  }
  return (await listJoinRequests(ctx.store, statuses)).map(toJoinRequestView);
}
