/**
 * An Approve click (Slack: the button, the review modal) under step-up. When the request's
 * workflow needs a fresh sign-in for it (core/workflow.ts needsStepUp), the click records no
 * approval: it stores a challenge bound to this request, the approval step the approver would
 * approve now and this user, and answers with a private link that starts the sign-in
 * (step-up-sign-in.ts). Everything decide-request.ts would refuse at once (suspended, not an
 * approver, own request, already decided) is refused here at once too, and again when the
 * approval is finally recorded. A request that needs no step-up is decided as always.
 *
 * The link's secret is stored only as its SHA-256, and lives `step_up.link_ttl`; challenges
 * expired for a day are deleted as new ones are made, and a click deletes the clicker's earlier
 * open challenges for the request (one live link per approver and request).
 */
import { DbwardError, type RequestId } from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import { canDecide } from "../core/approval-decision.ts";
import { needsStepUp } from "../core/workflow.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { listApprovals, type RequestRecord } from "../store/requests-repo.ts";
import {
  deleteChallengesExpiredBefore,
  deleteOpenChallengesOf,
  insertStepUpChallenge,
  type StepUpDecision,
} from "../store/step-up-challenges-repo.ts";
import type { BotContext } from "./bot-context.ts";
import { actorOf, type UserCaller } from "./caller.ts";
import { decideRequest, REFUSAL_CODES } from "./decide-request.ts";
import { findRequestOrThrow } from "./find-request-or-throw.ts";
import { findVisibleRequest } from "./read-requests.ts";
import { recordDenial } from "./record-denial.ts";

export type ApprovalOutcome =
  | { readonly kind: "decided"; readonly request: RequestRecord }
  | { readonly kind: "step_up"; readonly url: string; readonly expiresAt: string; readonly minutes: number };

/** Where a link's secret sits in its URL; the routes (http/step-up-routes.ts) read it back. */
export const STEP_UP_PATH = "/step-up";

export async function approveOrStepUp(
  ctx: BotContext,
  caller: UserCaller,
  id: RequestId,
  decision: StepUpDecision,
): Promise<ApprovalOutcome> {
  const visible = await findVisibleRequest(ctx, caller, id);
  if (!needsStepUp(visible.workflow, visible.review.risk))
    return {
      kind: "decided",
      request: await decideRequest(ctx, caller, id, { kind: "approve", ...decision }),
    };
  const deny = (error: DbwardError): Promise<never> =>
    recordDenial(ctx, {
      actor: actorOf(caller),
      action: "request.approve_refused",
      target: `request:${id}`,
      error,
    });
  if (caller.user.status !== "active")
    return deny(new DbwardError("auth.suspended", "your dbward account is suspended"));
  const cfg = ctx.config();
  if (cfg.step_up === undefined || cfg.oidc === undefined)
    return deny(
      new DbwardError(
        "approval.step_up_required",
        `workflow ${visible.workflow.name} needs a fresh sign-in to approve, and this bot has no step_up/oidc configured any more; ask an admin`,
      ),
    );
  const subject = caller.user.oidcSubject;
  if (subject === null)
    return deny(
      new DbwardError(
        "approval.step_up_unavailable",
        `request #${id} needs a fresh sign-in at the identity provider to approve, and your dbward user ${caller.user.id} has no identity provider account linked; ask an admin to link one (oidc_subject), or leave this approval to someone who has`,
      ),
    );
  const now = ctx.clock.now();
  const expiresAt = new Date(now.getTime() + cfg.step_up.link_ttl);
  const linkSecret = ctx.random.secret(32);
  const challengeId = `su_${ctx.random.secret(12)}`;
  const outcome = await inTransaction(ctx.store, async (tx) => {
    const request = await findRequestOrThrow(tx, id);
    const approvals = (await listApprovals(tx, id)).filter((a) => a.decision === "approved");
    const check = canDecide(request, caller.user, approvals, decision.as);
    if (!check.ok) return { refused: new DbwardError(REFUSAL_CODES[check.code], check.message) } as const;
    // Kept a day past expiry for whoever looks into one; the audit events stay for good.
    await deleteChallengesExpiredBefore(tx, new Date(now.getTime() - 86_400_000));
    // One open link per approver and request: a new click replaces the older ones (flooding
    // clicks stores one row, and a link leaked earlier dies).
    const replaced = await deleteOpenChallengesOf(tx, id, caller.user.id);
    await insertStepUpChallenge(tx, {
      id: challengeId,
      linkSecret,
      requestId: id,
      step: check.step,
      userId: caller.user.id,
      oidcSubject: subject,
      decision,
      now,
      expiresAt,
    });
    await appendAudit(
      tx,
      {
        actor: actorOf(caller),
        action: "step_up.challenge_issued",
        target: `request:${id}`,
        outcome: "success",
        details: {
          challenge: challengeId,
          step: check.step,
          expires_at: expiresAt.toISOString(),
          via: caller.via,
          ...(replaced > 0 ? { replaced } : {}),
        },
      },
      now,
    );
    return { issued: true } as const;
  });
  if ("refused" in outcome) return deny(outcome.refused);
  const base = cfg.step_up.public_url.replace(/\/+$/, "");
  return {
    kind: "step_up",
    url: `${base}${STEP_UP_PATH}/${linkSecret}`,
    expiresAt: expiresAt.toISOString(),
    minutes: Math.round(cfg.step_up.link_ttl / 60_000),
  };
}
