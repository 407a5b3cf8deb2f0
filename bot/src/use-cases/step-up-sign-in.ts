/**
 * The private link of a step-up approval was opened (http/step-up-routes.ts). First the link
 * shows what it approves (previewStepUpLink: the request, its SQL, and a warning for a person
 * who did not click Approve themselves), changing nothing: someone holding an approver's Slack
 * session can click Approve and forward the link to the approver, and the provider's sign-in
 * page says nothing of what the sign-in is for. Only the page's "Sign in" link starts a sign-in
 * at the identity provider (openStepUpLink), and only in a browser the page was shown in (its
 * cookie): a forwarded sign-in URL skips no page. Each sign-in makes a new state, nonce and PKCE
 * verifier (stored here, server-side) and a new browser cookie; the one before stops matching, so only the browser that
 * opened the link last can finish, and only once (step-up-complete.ts). An unknown, expired or
 * already used link is refused, audited, and changes nothing.
 */
import { parseRequestId } from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import { authorizationUrl, newCodeVerifier } from "../identity/step-up-provider.ts";
import { findUser } from "../identity/users.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { findRequest, type RequestRecord } from "../store/requests-repo.ts";
import {
  findChallengeByLink,
  moveChallenge,
  secretHash,
  startSignIn,
  type StepUpChallenge,
} from "../store/step-up-challenges-repo.ts";
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
  "not_confirmed",
] as const;
export type StepUpRefusal = (typeof STEP_UP_REFUSALS)[number];

export type StepUpLinkOutcome =
  | { readonly ok: true; readonly redirect: string; readonly browser: string; readonly maxAgeSeconds: number }
  | { readonly ok: false; readonly why: StepUpRefusal; readonly requestId?: number };

type Refused = { readonly ok: false; readonly why: StepUpRefusal; readonly requestId?: number };

export type StepUpPreview =
  | {
      readonly ok: true;
      readonly request: RequestRecord;
      readonly userId: string;
      readonly expiresAt: string;
      /** The page's cookie: the sign-in starts only in a browser that was shown the page. */
      readonly viewed: string;
    }
  | Refused;

/**
 * The value of the page's cookie for this link: derived from the challenge's id (which the link
 * does not carry) and the link. Whoever forwards the sign-in URL cannot put it in another
 * person's browser (a cookie of the bot's origin), so a forwarded sign-in URL skips no page.
 */
function viewedToken(challenge: StepUpChallenge, linkSecret: string): string {
  return secretHash(`step-up-viewed:${challenge.id}:${linkSecret}`);
}

/** What the link approves, for the page that asks the person to sign in; changes nothing. */
export async function previewStepUpLink(
  ctx: BotContext,
  linkSecret: string,
  site: { ip: string | null },
): Promise<StepUpPreview> {
  const live = await liveChallenge(ctx, linkSecret, site);
  if (!live.ok) return live;
  const id = parseRequestId(live.challenge.requestId);
  const request = id === undefined ? undefined : await findRequest(ctx.store, id);
  if (request === undefined) return live.refuse("unknown_link");
  return {
    ok: true,
    request,
    userId: live.challenge.userId,
    expiresAt: live.challenge.expiresAt,
    viewed: viewedToken(live.challenge, linkSecret),
  };
}

/** The link's challenge if it can still start a sign-in; else the audited refusal. */
async function liveChallenge(
  ctx: BotContext,
  linkSecret: string,
  site: { ip: string | null },
): Promise<
  { ok: true; challenge: StepUpChallenge; refuse: (why: StepUpRefusal) => Promise<Refused> } | Refused
> {
  const cfg = ctx.config();
  const now = ctx.clock.now();
  const challenge = await findChallengeByLink(ctx.store, linkSecret);
  if (challenge === undefined) {
    await auditRefusal(ctx, { actor: "anonymous", target: "", why: "unknown_link", ip: site.ip });
    return { ok: false, why: "unknown_link" };
  }
  const refuse = async (why: StepUpRefusal): Promise<Refused> => {
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
  // A user suspended since the click is shown nothing and sent nowhere (the callback checks again).
  if ((await findUser(ctx.store, challenge.userId))?.status !== "active") return refuse("user_not_active");
  return { ok: true, challenge, refuse };
}

export async function openStepUpLink(
  ctx: BotContext,
  linkSecret: string,
  site: { ip: string | null; viewed: string | undefined },
): Promise<StepUpLinkOutcome> {
  const live = await liveChallenge(ctx, linkSecret, site);
  if (!live.ok) return live;
  const { challenge, refuse } = live;
  // Hashed on both sides: the comparison's time says nothing about the expected value.
  if (site.viewed === undefined || secretHash(site.viewed) !== secretHash(viewedToken(challenge, linkSecret)))
    return refuse("not_confirmed");
  const cfg = ctx.config();
  const now = ctx.clock.now();
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
