/**
 * The private link of a step-up approval was opened (http/step-up-routes.ts): start a sign-in at
 * the identity provider. Each opening makes a new state, nonce and PKCE verifier (stored here,
 * server-side) and a new browser cookie; the one before stops matching, so only the browser that
 * opened the link last can finish, and only once (step-up-complete.ts). An unknown, expired or
 * already used link is refused, audited, and changes nothing.
 */
import { appendAudit } from "../audit/audit-log.ts";
import { authorizationUrl, newCodeVerifier } from "../identity/step-up-provider.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { findChallengeByLink, moveChallenge, startSignIn } from "../store/step-up-challenges-repo.ts";
import type { BotContext } from "./bot-context.ts";

/** Why a link or a callback was refused: each has its page (step-up-pages.ts) and audit reason. */
export const STEP_UP_REFUSALS = [
  "unknown_link",
  "expired",
  "already_used",
  "not_configured",
  "state_mismatch",
  "other_browser",
  "provider_refused",
  "provider_unreachable",
  "other_subject",
  "stale_login",
  "user_not_active",
] as const;
export type StepUpRefusal = (typeof STEP_UP_REFUSALS)[number];

export type StepUpLinkOutcome =
  | { readonly ok: true; readonly redirect: string; readonly browser: string; readonly maxAgeSeconds: number }
  | { readonly ok: false; readonly why: StepUpRefusal; readonly requestId?: number };

export async function openStepUpLink(
  ctx: BotContext,
  linkSecret: string,
  site: { ip: string | null },
): Promise<StepUpLinkOutcome> {
  const cfg = ctx.config();
  const now = ctx.clock.now();
  const challenge = await findChallengeByLink(ctx.store, linkSecret);
  if (challenge === undefined) {
    await auditRefusal(ctx, { actor: "anonymous", target: "", why: "unknown_link", ip: site.ip });
    return { ok: false, why: "unknown_link" };
  }
  const refuse = async (why: StepUpRefusal): Promise<StepUpLinkOutcome> => {
    await auditRefusal(ctx, {
      actor: `user:${challenge.userId}`,
      target: `request:${challenge.requestId}`,
      why,
      challenge: challenge.id,
      ip: site.ip,
    });
    return { ok: false, why, requestId: challenge.requestId };
  };
  if (challenge.status !== "issued" && challenge.status !== "redirected") return refuse("already_used");
  if (Date.parse(challenge.expiresAt) <= now.getTime()) {
    await inTransaction(ctx.store, (tx) => moveChallenge(tx, challenge.id, challenge.status, "refused", now));
    return refuse("expired");
  }
  if (cfg.oidc === undefined || cfg.step_up === undefined) return refuse("not_configured");
  const start = {
    state: ctx.random.secret(32),
    nonce: ctx.random.secret(32),
    codeVerifier: newCodeVerifier(),
  };
  // The provider is asked before anything is stored: an unreachable one leaves the link usable.
  let redirect: string;
  try {
    redirect = await authorizationUrl(cfg.oidc, cfg.step_up, start);
  } catch (err) {
    await auditRefusal(ctx, {
      actor: `user:${challenge.userId}`,
      target: `request:${challenge.requestId}`,
      why: "provider_unreachable",
      challenge: challenge.id,
      ip: site.ip,
      detail: err instanceof Error ? err.message : String(err),
    });
    return { ok: false, why: "provider_unreachable", requestId: challenge.requestId };
  }
  const browser = ctx.random.secret(32);
  const started = await inTransaction(ctx.store, (tx) =>
    startSignIn(tx, challenge.id, { ...start, browser, now }),
  );
  if (!started) return refuse("already_used");
  return { ok: true, redirect, browser, maxAgeSeconds: Math.ceil(cfg.step_up.link_ttl / 1000) };
}

/** `step_up.refused`, in its own transaction: a refusal is evidence too (SECURITY.md §5). */
export async function auditRefusal(
  ctx: BotContext,
  a: {
    actor: string;
    target: string;
    why: StepUpRefusal;
    ip: string | null;
    challenge?: string;
    detail?: string;
  },
): Promise<void> {
  await inTransaction(ctx.store, (tx) =>
    appendAudit(
      tx,
      {
        actor: a.actor,
        action: "step_up.refused",
        target: a.target,
        outcome: "denied",
        details: {
          why: a.why,
          ip: a.ip,
          ...(a.challenge !== undefined ? { challenge: a.challenge } : {}),
          ...(a.detail !== undefined ? { detail: a.detail.slice(0, 300) } : {}),
        },
      },
      ctx.clock.now(),
    ),
  );
}
