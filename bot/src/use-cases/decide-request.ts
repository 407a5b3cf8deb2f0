/**
 * Approve or reject a pending request. The whole decision — the re-check of the request's state
 * and approvals, the approval row, the audit event, and when the last step is satisfied the move
 * to approved and dispatched — is one transaction, so a double click or two approvers at once
 * are decided one after the other against fresh state.
 */
import { DbwardError, type RequestId } from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import { approvalProgress, canDecide } from "../core/approval-decision.ts";
import { awaitsDryRunCount } from "../core/row-bounds.ts";
import { needsStepUp } from "../core/workflow.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { findPreflight, preflightId, type PreflightRecord } from "../store/preflights-repo.ts";
import { parseNotBefore } from "../core/run-schedule.ts";
import { insertApproval, listApprovals, setRunSchedule, type RequestRecord } from "../store/requests-repo.ts";
import { applyTransition } from "./apply-transition.ts";
import type { BotContext, RequestChange } from "./bot-context.ts";
import { actorOf, type UserCaller } from "./caller.ts";
import { findRequestOrThrow } from "./find-request-or-throw.ts";
import { dispatchWhenReady } from "./dispatch-when-ready.ts";
import { findVisibleRequest } from "./read-requests.ts";
import { recordDenial } from "./record-denial.ts";
import { checkStepUpEvidence } from "./step-up-evidence.ts";

/**
 * `as`: the selector an approver approves as, when they match several still short
 * (approval-decision.ts). `notBefore`: a window the approver attaches (the raw text; checked by
 * parseNotBefore, run-schedule.ts) — the request is dispatched no earlier.
 */
export type Decision =
  | {
      kind: "approve";
      comment?: string;
      as?: string;
      notBefore?: string;
      /** The verified step-up challenge this approval spends (step-up-complete.ts). */
      stepUp?: string;
    }
  | { kind: "reject"; reason: string };

export const REFUSAL_CODES = {
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
  const deny = (error: DbwardError): Promise<never> =>
    recordDenial(ctx, { actor, action: `request.${decision.kind}_refused`, target: `request:${id}`, error });
  if (decision.kind === "reject" && decision.reason.trim() === "") {
    throw new DbwardError("request.invalid", "a rejection needs a reason: say what should change");
  }
  const window = decision.kind === "approve" ? notBeforeOf(decision, ctx.clock.now()) : undefined;
  if (caller.user.status !== "active")
    return deny(new DbwardError("auth.suspended", "your dbward account is suspended"));
  await findVisibleRequest(ctx, caller, id);
  const change: RequestChange = {
    requestId: id,
    action: decision.kind === "approve" ? "request.approved" : "request.rejected",
    actor,
  };
  const outcome = await inTransaction(ctx.store, async (tx) => {
    const request = await findRequestOrThrow(tx, id);
    const approvals = (await listApprovals(tx, id)).filter((a) => a.decision === "approved");
    const check = canDecide(
      request,
      caller.user,
      approvals,
      decision.kind === "approve" ? decision.as : undefined,
    );
    if (!check.ok) return { refused: new DbwardError(REFUSAL_CODES[check.code], check.message) } as const;
    if (decision.kind === "approve" && awaitsDryRunCount(request.workflow, request.operation)) {
      const missing = countMissing(
        await findPreflight(tx, preflightId(id, "dry_run")),
        request.workflow.name,
      );
      if (missing !== undefined)
        return { refused: new DbwardError("request.awaiting_count", missing) } as const;
    }
    // Rejections need no step-up: refusing to run something is never the risky direction.
    let stepUp: Record<string, unknown> | undefined;
    if (decision.kind === "approve" && needsStepUp(request.workflow, request.review.risk)) {
      const evidence = await checkStepUpEvidence(ctx, tx, {
        caller,
        id,
        step: check.step,
        challenge: decision.stepUp,
        workflow: request.workflow.name,
      });
      if (!evidence.ok) return { refused: evidence.error } as const;
      stepUp = evidence.details;
    }
    const now = ctx.clock.now();
    const comment = decision.kind === "approve" ? decision.comment?.trim() || null : decision.reason.trim();
    const entry = { approver: caller.user.id, step: check.step, selector: check.selector };
    await insertApproval(tx, id, {
      ...entry,
      decision: decision.kind === "approve" ? "approved" : "rejected",
      comment,
      createdAt: now.toISOString(),
    });
    if (decision.kind === "reject") {
      const rejected = await applyTransition(tx, request, {
        event: "reject",
        actor,
        action: "request.rejected",
        now,
        statusReason: comment,
        details: { reason: comment, step: check.step },
      });
      await ctx.recordChange(tx, change);
      return { request: rejected } as const;
    }
    const progress = approvalProgress(request.workflow, [...approvals, entry]);
    await appendAudit(
      tx,
      {
        actor,
        action: "request.approval_recorded",
        target: `request:${id}`,
        outcome: "success",
        details: {
          step: check.step,
          selector: check.selector,
          comment,
          complete: progress.current === undefined,
          ...(window !== undefined ? { not_before: window } : {}),
          ...(stepUp !== undefined ? { step_up: stepUp } : {}),
        },
      },
      now,
    );
    await ctx.recordChange(tx, change);
    const notBefore = laterOf(request.notBefore, window);
    if (notBefore !== null && notBefore !== request.notBefore) await setRunSchedule(tx, id, { notBefore });
    if (progress.current !== undefined) return { request: { ...request, notBefore } } as const;
    const approved = await applyTransition(tx, request, {
      event: "approve_final",
      actor,
      action: "request.approved",
      now,
      details: { approvals: approvals.length + 1 },
    });
    return { request: await dispatchWhenReady(tx, { ...approved, notBefore }, now) } as const;
  });
  if ("refused" in outcome) return deny(outcome.refused);
  ctx.afterCommit(change);
  if (outcome.request.status === "dispatched") ctx.jobs.notify();
  return outcome.request;
}

/** Why the dry run's count is not there to approve, or undefined when it is. */
function countMissing(dryRun: PreflightRecord | undefined, workflow: string): string | undefined {
  if (dryRun?.status === "succeeded" && dryRun.affectedRows !== null) return undefined;
  if (dryRun === undefined || dryRun.status === "succeeded")
    return `workflow ${workflow} bounds this write by its dry run's count, and it has none; reject it and ask for a new request`;
  if (dryRun.status === "failed")
    return `the dry run could not count this write's rows (${dryRun.error?.message ?? "it failed"}); workflow ${workflow} bounds the write by that count, so it cannot be approved: reject it, or ask the requester to run it again once that is fixed`;
  return "the dry run has not counted this write's rows yet; approve once its count is shown";
}

/** The approver's window, checked before anything is recorded: a bad one refuses the approval. */
function notBeforeOf(decision: { notBefore?: string }, now: Date): string | undefined {
  if (decision.notBefore === undefined) return undefined;
  const parsed = parseNotBefore(decision.notBefore, now);
  if (!parsed.ok) throw new DbwardError("request.invalid", parsed.why);
  return parsed.at;
}

/** The later of two windows (ISO times compare as text only with equal formats, so parse). */
function laterOf(current: string | null, given: string | undefined): string | null {
  if (given === undefined) return current;
  return current !== null && Date.parse(current) >= Date.parse(given) ? current : given;
}
