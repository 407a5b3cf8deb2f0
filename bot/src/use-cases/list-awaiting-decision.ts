/** Pending requests whose current step the caller may decide now ("waiting for me"). */
import type { RequestView } from "@dbward/shared";
import { canDecide } from "../core/approval-decision.ts";
import { listApprovals, listRequests } from "../store/requests-repo.ts";
import type { BotContext } from "./bot-context.ts";
import type { UserCaller } from "./caller.ts";
import { toRequestView } from "./read-requests.ts";

const SCAN_LIMIT = 500;

export async function listAwaitingDecision(
  ctx: BotContext,
  caller: UserCaller,
  limit = 20,
): Promise<RequestView[]> {
  if (caller.user.status !== "active") return [];
  const pending = await listRequests(ctx.store, { statuses: ["pending_approval"], limit: SCAN_LIMIT });
  const mine: RequestView[] = [];
  for (const r of pending) {
    const approvals = (await listApprovals(ctx.store, r.id)).filter((a) => a.decision === "approved");
    if (canDecide(r, caller.user, approvals).ok) mine.push(await toRequestView(ctx, r));
    if (mine.length >= limit) break;
  }
  return mine;
}
