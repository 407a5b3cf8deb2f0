/**
 * Approve or reject a pending request. The whole decision — the re-check of the request's state,
 * the approval row, the audit event, and when the last approval lands the move to approved and
 * dispatched — is one transaction, so a double click or two approvers at once approve once.
 */
import { DbwardError, type RequestId } from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import { canDecide } from "../core/approval-decision.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { insertApproval, listApprovals, type RequestRecord } from "../store/requests-repo.ts";
import { applyTransition } from "./apply-transition.ts";
import type { BotContext } from "./bot-context.ts";
import { actorOf, type UserCaller } from "./caller.ts";
import { findRequestOrThrow } from "./find-request-or-throw.ts";
import { recordDenial } from "./record-denial.ts";

export type Decision = { kind: "approve"; comment?: string } | { kind: "reject"; reason: string };

const REFUSAL_CODES = {
  not_pending: "request.already_decided",
  self_approval: "request.self_approval",
  not_approver: "auth.forbidden",
  already_decided: "request.already_decided",
} as const;

export async function decideRequest(
  ctx: BotContext,
  caller: UserCaller,
  id: RequestId,
  decision: Decision,
): Promise<RequestRecord> {
  const actor = actorOf(caller);
  if (decision.kind === "reject" && decision.reason.trim() === "") {
    throw new DbwardError("request.invalid", "a rejection needs a reason: say what should change");
  }
  if (caller.user.status !== "active") {
    return recordDenial(ctx, {
      actor,
      action: `request.${decision.kind}_refused`,
      target: `request:${id}`,
      error: new DbwardError("auth.suspended", "your dbward account is suspended"),
    });
  }
  const outcome = await inTransaction(ctx.store, async (tx) => {
    const request = await findRequestOrThrow(tx, id);
    const approvals = await listApprovals(tx, id);
    const check = canDecide(
      request,
      caller.user,
      approvals.map((a) => a.approver),
    );
    if (!check.ok) return { refused: new DbwardError(REFUSAL_CODES[check.code], check.message) } as const;
    const now = ctx.clock.now();
    const comment =
      decision.kind === "approve" ? (decision.comment?.trim() ?? null) || null : decision.reason.trim();
    await insertApproval(tx, id, {
      approver: caller.user.id,
      decision: decision.kind === "approve" ? "approved" : "rejected",
      comment,
      createdAt: now.toISOString(),
    });
    if (decision.kind === "reject") {
      return {
        request: await applyTransition(tx, request, {
          event: "reject",
          actor,
          action: "request.rejected",
          now,
          statusReason: comment,
          details: { reason: comment },
        }),
      } as const;
    }
    const count = approvals.filter((a) => a.decision === "approved").length + 1;
    const needed = request.workflow.required_approvals;
    await appendAudit(
      tx,
      {
        actor,
        action: "request.approval_recorded",
        target: `request:${id}`,
        outcome: "success",
        details: { approvals: count, required: needed, comment },
      },
      now,
    );
    if (count < needed) return { request } as const;
    const approved = await applyTransition(tx, request, {
      event: "approve_final",
      actor,
      action: "request.approved",
      now,
      details: { approvals: count },
    });
    return {
      request: await applyTransition(tx, approved, {
        event: "dispatch",
        actor: "system",
        action: "request.dispatched",
        now,
      }),
    } as const;
  });
  if ("refused" in outcome) {
    return recordDenial(ctx, {
      actor,
      action: `request.${decision.kind}_refused`,
      target: `request:${id}`,
      error: outcome.refused,
    });
  }
  ctx.afterCommit({ requestId: id, action: `request.${decision.kind}d`, actor });
  if (outcome.request.status === "dispatched") ctx.jobs.notify();
  return outcome.request;
}
