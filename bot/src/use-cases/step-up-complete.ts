/**
 * The identity provider sent the approver's browser back (http/step-up-routes.ts, the OIDC
 * callback). In order, each failing closed with an audited `step_up.refused`:
 *
 * 1. the `state` names a challenge the link started (CSRF: a callback nobody started matches
 *    none), and the browser carries that link's cookie (a sign-in started in one browser cannot
 *    be finished in another: login CSRF, a phished authorization URL);
 * 2. the challenge is unexpired and waiting, and this callback takes it (redirected -> checking,
 *    one compare-and-set: a replayed or racing callback finds it taken);
 * 3. the code is exchanged with the stored PKCE verifier, and the ID token's nonce checked
 *    (step-up-provider.ts);
 * 4. the subject is the one linked to the dbward user who clicked, then and now;
 * 5. `auth_time` is there, no older than `step_up.max_age`, and not before this sign-in was
 *    started (so not before the click either): a sign-in made for this approval, not one the
 *    provider's session already had;
 *
 * then the challenge is verified and the approval goes through decide-request.ts like any other
 * (self-approval, steps, quorum, a racing click, the audit chain), spending the challenge in the
 * same transaction. The link cannot be used again, whatever the outcome.
 */
import { DbwardError, parseRequestId } from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import { findUser } from "../identity/users.ts";
import { exchangeCode } from "../identity/step-up-provider.ts";
import { inTransaction } from "../store/in-transaction.ts";
import type { RequestRecord } from "../store/requests-repo.ts";
import {
  findChallengeByState,
  moveChallenge,
  secretHash,
  type StepUpChallenge,
} from "../store/step-up-challenges-repo.ts";
import type { BotContext } from "./bot-context.ts";
import { userCaller } from "./caller.ts";
import { decideRequest } from "./decide-request.ts";
import { auditRefusal, type StepUpRefusal } from "./step-up-sign-in.ts";

export type StepUpCompletion =
  | { readonly ok: true; readonly request: RequestRecord }
  | { readonly ok: false; readonly why: StepUpRefusal; readonly requestId?: number }
  /** The sign-in was good and the approval itself was refused (already decided, a race). */
  | {
      readonly ok: false;
      readonly why: "approval_refused";
      readonly requestId: number;
      readonly message: string;
    };

export interface CallbackInput {
  /** The query string as received, with its `?`. */
  readonly query: string;
  readonly state: string | undefined;
  /** The step-up cookie the browser sent, if any. */
  readonly browser: string | undefined;
  readonly ip: string | null;
}

export async function completeStepUp(ctx: BotContext, input: CallbackInput): Promise<StepUpCompletion> {
  const challenge =
    input.state === undefined ? undefined : await findChallengeByState(ctx.store, input.state);
  if (challenge === undefined) {
    await auditRefusal(ctx, { actor: "anonymous", target: "", why: "state_mismatch", ip: input.ip });
    return { ok: false, why: "state_mismatch" };
  }
  const refuse = async (why: StepUpRefusal, detail?: string): Promise<StepUpCompletion> => {
    await auditRefusal(ctx, {
      actor: `user:${challenge.userId}`,
      target: `request:${challenge.requestId}`,
      why,
      challenge: challenge.id,
      ip: input.ip,
      ...(detail !== undefined ? { detail } : {}),
    });
    return { ok: false, why, requestId: challenge.requestId };
  };
  const now = ctx.clock.now();
  if (challenge.status !== "redirected") return refuse("already_used");
  // Taken first, whatever follows: one callback per sign-in, and a refused one ends the link.
  const taken = await inTransaction(ctx.store, (tx) =>
    moveChallenge(tx, challenge.id, "redirected", "checking", now),
  );
  if (!taken) return refuse("already_used");
  const end = (why: StepUpRefusal, detail?: string): Promise<StepUpCompletion> =>
    inTransaction(ctx.store, (tx) => moveChallenge(tx, challenge.id, "checking", "refused", now)).then(() =>
      refuse(why, detail),
    );
  if (input.browser === undefined || secretHash(input.browser) !== challenge.browserHash)
    return end("other_browser");
  if (Date.parse(challenge.expiresAt) <= now.getTime()) return end("expired");
  const cfg = ctx.config();
  if (cfg.oidc === undefined || cfg.step_up === undefined) return end("not_configured");
  const identity = await exchangeCode(
    cfg.oidc,
    cfg.step_up,
    input.query,
    startOf(challenge, input.state ?? ""),
  ).catch((err: unknown) => ({ failed: err instanceof Error ? err.message : String(err) }));
  if ("failed" in identity) return end("provider_refused", identity.failed);
  const user = await findUser(ctx.store, challenge.userId);
  if (identity.subject !== challenge.oidcSubject || user?.oidcSubject !== identity.subject)
    return end("other_subject", `signed in as ${identity.subject}`);
  if (user.status !== "active") return end("user_not_active");
  const stale = staleness(identity.authTime, challenge, now, cfg.step_up.max_age, cfg.oidc.leeway_seconds);
  if (stale !== undefined) return end("stale_login", stale);
  const authTime = new Date((identity.authTime ?? 0) * 1000).toISOString();
  await inTransaction(ctx.store, async (tx) => {
    await moveChallenge(tx, challenge.id, "checking", "verified", now, authTime);
    await appendAudit(
      tx,
      {
        actor: `user:${user.id}`,
        action: "step_up.verified",
        target: `request:${challenge.requestId}`,
        outcome: "success",
        details: { challenge: challenge.id, step: challenge.step, auth_time: authTime, ip: input.ip },
      },
      now,
    );
  });
  const id = parseRequestId(challenge.requestId);
  if (id === undefined) throw new DbwardError("internal", `challenge ${challenge.id} names no request`);
  try {
    const request = await decideRequest(ctx, userCaller(ctx, user, "oidc"), id, {
      kind: "approve",
      ...challenge.decision,
      stepUp: challenge.id,
    });
    return { ok: true, request };
  } catch (err) {
    if (!(err instanceof DbwardError)) throw err;
    // decideRequest audited the refusal; the person reads why. Its transaction rolled back, so
    // the sign-in is still verified: end it, so no verified proof outlives the approval it was for.
    await inTransaction(ctx.store, (tx) =>
      moveChallenge(tx, challenge.id, "verified", "refused", ctx.clock.now()),
    );
    return { ok: false, why: "approval_refused", requestId: id, message: err.message };
  }
}

/** Read before the challenge was taken (taking it clears the verifier and nonce from the row). */
function startOf(c: StepUpChallenge, state: string): { state: string; nonce: string; codeVerifier: string } {
  // Only the state's hash is stored; the one the browser brought back found this challenge by it.
  return { state, nonce: c.nonce ?? "", codeVerifier: c.codeVerifier ?? "" };
}

/** Why `auth_time` is not a sign-in made for this approval, or undefined when it is. */
function staleness(
  authTime: number | undefined,
  c: StepUpChallenge,
  now: Date,
  maxAgeMs: number,
  leewaySeconds: number,
): string | undefined {
  if (authTime === undefined) return "the provider's ID token has no auth_time";
  const at = authTime * 1000;
  const leeway = leewaySeconds * 1000;
  if (now.getTime() - at > maxAgeMs + leeway)
    return `signed in at ${new Date(at).toISOString()}, more than max_age (${maxAgeMs / 1000}s) ago`;
  // Read while redirected, updatedAt is when this browser was sent to the provider: a sign-in
  // before that is a session the provider kept (prompt=login ignored), even one made after the click.
  if (at < Date.parse(c.updatedAt) - leeway)
    return `signed in at ${new Date(at).toISOString()}, before the sign-in was started (${c.updatedAt})`;
  if (at > now.getTime() + leeway) return `auth_time ${new Date(at).toISOString()} is in the future`;
  return undefined;
}
