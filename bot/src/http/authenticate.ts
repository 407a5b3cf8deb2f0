/**
 * Bearer authentication for the HTTP API. Every call is checked: the token must be live, and the
 * user behind it active (a suspended user is refused even with a valid token). Failures are
 * audited and all look alike to the caller (SECURITY.md: forged API token). A JWT-shaped bearer
 * goes to the identity provider's verifier (OIDC), a `dbw_` one to the API tokens; an agent
 * token never authenticates a user, nor a user token an agent.
 */
import { DbwardError } from "@dbward/shared";
import type { Request } from "express";
import { authenticateToken, type TokenKind } from "../identity/api-tokens.ts";
import { isJwtShaped } from "../identity/oidc-verifier.ts";
import { findUser } from "../identity/users.ts";
import { authenticateOidcUser } from "../use-cases/authenticate-oidc-user.ts";
import type { BotContext } from "../use-cases/bot-context.ts";
import { recordAuthFailure } from "../use-cases/record-auth-failure.ts";
import { userCaller, type UserCaller } from "../use-cases/caller.ts";

/** Room for an identity provider's JWT with a long group claim; API tokens are 47 characters. */
const MAX_BEARER_LENGTH = 8192;

function bearerOf(req: Request): string | undefined {
  const header = req.get("authorization");
  if (header === undefined || header.length > MAX_BEARER_LENGTH + 7) return undefined;
  const m = /^Bearer ([\x21-\x7e]+)$/.exec(header);
  return m?.[1];
}

async function fail(ctx: BotContext, req: Request, kind: TokenKind, why: string): Promise<never> {
  await recordAuthFailure(ctx, { details: { kind, why, path: req.path, ip: req.ip ?? null } });
  throw new DbwardError(
    why === "missing" ? "auth.missing" : "auth.invalid",
    "authentication required: send a valid bearer token",
  );
}

export async function authenticateUser(ctx: BotContext, req: Request): Promise<UserCaller> {
  const bearer = bearerOf(req);
  if (bearer === undefined)
    return fail(ctx, req, "user", req.get("authorization") === undefined ? "missing" : "malformed");
  if (isJwtShaped(bearer)) return authenticateOidcUser(ctx, bearer, { path: req.path, ip: req.ip ?? null });
  const subject = await authenticateToken(ctx.store, bearer, "user", ctx.clock.now());
  if (subject === undefined) return fail(ctx, req, "user", "unknown, expired or revoked token");
  const user = await findUser(ctx.store, subject.subject);
  if (user === undefined) return fail(ctx, req, "user", "token subject no longer exists");
  if (user.status !== "active") {
    await recordAuthFailure(ctx, {
      actor: `user:${user.id}`,
      details: { kind: "api_token", why: "suspended", path: req.path },
    });
    throw new DbwardError("auth.suspended", "your dbward account is suspended; ask an admin");
  }
  return userCaller(ctx, user, "api_token", { id: subject.tokenId, ceiling: subject.ceiling ?? null });
}

export async function authenticateAgent(ctx: BotContext, req: Request): Promise<string> {
  const bearer = bearerOf(req);
  if (bearer === undefined)
    return fail(ctx, req, "agent", req.get("authorization") === undefined ? "missing" : "malformed");
  const subject = await authenticateToken(ctx.store, bearer, "agent", ctx.clock.now());
  if (subject === undefined) return fail(ctx, req, "agent", "unknown, expired or revoked token");
  if (!ctx.config().agents.some((a) => a.id === subject.subject))
    return fail(ctx, req, "agent", "agent is no longer configured");
  return subject.subject;
}
