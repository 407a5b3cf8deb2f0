/**
 * Which selectors an approver may pick to approve a request as, for the review modal (issue 13):
 * someone in both `group:dba` and `group:security` of an `all` step that needs one of each says
 * which one their approval counts for. Only a hint for the form: the decision re-checks the pick
 * with canDecide inside its own transaction, so a stale or forged choice is refused there.
 */
import type { RequestId } from "@dbward/shared";
import { canDecide, type ApprovalEntry, type Decider } from "../core/approval-decision.ts";
import { listApprovals, type RequestRecord } from "../store/requests-repo.ts";
import type { BotContext } from "./bot-context.ts";
import type { UserCaller } from "./caller.ts";
import { findVisibleRequest } from "./read-requests.ts";

/**
 * The selectors an approver may approve as, when they match several an `all` step still needs:
 * `initial` is the one taken without a choice (the first still short, as the CLI without `--as`).
 */
export interface ApproveAsChoice {
  readonly options: readonly string[];
  readonly initial: string;
}

/** The choice to offer `caller` on request `id`, or undefined when there is none to make. */
export async function listApproveAsChoices(
  ctx: BotContext,
  caller: UserCaller,
  id: RequestId,
): Promise<ApproveAsChoice | undefined> {
  const request = await findVisibleRequest(ctx, caller, id);
  const approved = (await listApprovals(ctx.store, id)).filter((a) => a.decision === "approved");
  return approveAsChoicesOf(request, caller.user, approved);
}

/**
 * The selectors of the waiting step that `decider` could approve as now, each one canDecide
 * accepts as `as`, and the one taken without a choice; undefined unless there are two or more.
 * Only an `all` step offers a choice: in `any` mode every approval counts the same.
 */
export function approveAsChoicesOf(
  request: Pick<RequestRecord, "status" | "requester" | "workflow">,
  decider: Decider,
  approvals: readonly ApprovalEntry[],
): ApproveAsChoice | undefined {
  const taken = canDecide(request, decider, approvals);
  if (!taken.ok || request.workflow.steps[taken.step]?.mode !== "all") return undefined;
  const step = request.workflow.steps[taken.step];
  const options = (step?.approvers ?? []).filter((s) => canDecide(request, decider, approvals, s).ok);
  return options.length > 1 ? { options, initial: taken.selector } : undefined;
}
