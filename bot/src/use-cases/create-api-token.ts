/**
 * Issue an API token. People make their own (`token.self`); admins (`token.manage`) make them for
 * anyone. The secret is returned once and stored only hashed. A token may carry a ceiling: it
 * then acts with at most those roles, and never with more than the caller who made it for
 * themselves could (a narrowed token cannot mint a wider one). Each user holds a bounded number
 * of live tokens.
 */
import { DbwardError, parseUserId, type CreatedTokenView } from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import { countLiveTokens, issueToken } from "../identity/api-tokens.ts";
import { findUser } from "../identity/users.ts";
import { inTransaction } from "../store/in-transaction.ts";
import type { BotContext } from "./bot-context.ts";
import { actorOf, can, type UserCaller } from "./caller.ts";
import { recordDenial } from "./record-denial.ts";

const MAX_DAYS = 366;
/** Live (unrevoked, unexpired) tokens one user may hold at a time. */
export const MAX_LIVE_TOKENS_PER_USER = 20;

export async function createApiToken(
  ctx: BotContext,
  caller: UserCaller,
  body: Record<string, unknown>,
): Promise<CreatedTokenView> {
  const actor = actorOf(caller);
  const userId = body.user === undefined ? caller.user.id : parseUserId(body.user);
  const forSelf = userId === caller.user.id;
  if (!can(caller, "token.manage") && !(forSelf && can(caller, "token.self"))) {
    return recordDenial(ctx, {
      actor,
      action: "token.create_refused",
      target: userId === undefined ? "" : `user:${userId}`,
      error: new DbwardError(
        "auth.forbidden",
        forSelf ? "your roles do not allow API tokens" : "only an admin can create tokens for someone else",
      ),
    });
  }
  const { name, days, roles } = parseBody(body);
  if (userId === undefined) throw new DbwardError("request.invalid", "user must be a user id");
  const user = await findUser(ctx.store, userId);
  if (user === undefined) throw new DbwardError("user.not_found", `there is no user ${userId}`);
  if (user.status !== "active")
    throw new DbwardError("request.invalid", `${user.id} is suspended; activate the account first`);
  // What the new token may act with at most: a self-made token inherits the caller's own ceiling.
  const allowed = forSelf ? caller.user.roles : user.roles;
  const beyond = (roles ?? []).filter((r) => !allowed.includes(r));
  if (beyond.length > 0) {
    return recordDenial(ctx, {
      actor,
      action: "token.create_refused",
      target: `user:${user.id}`,
      error: new DbwardError(
        "auth.forbidden",
        `the token cannot hold roles beyond ${allowed.join(", ") || "none"}: ${beyond.join(", ")}`,
      ),
    });
  }
  const narrowed = forSelf && caller.user.roles.length !== user.roles.length;
  const ceiling = roles ?? (narrowed ? [...caller.user.roles] : undefined);
  const now = ctx.clock.now();
  const issued = await inTransaction(ctx.store, async (tx) => {
    const live = await countLiveTokens(tx, "user", user.id, now);
    if (live >= MAX_LIVE_TOKENS_PER_USER) return undefined;
    const t = await issueToken(tx, ctx, {
      kind: "user",
      subject: user.id,
      name,
      createdBy: actor,
      ...(days !== undefined ? { expiresAt: new Date(now.getTime() + days * 86_400_000) } : {}),
      ...(ceiling !== undefined ? { ceiling } : {}),
    });
    await appendAudit(
      tx,
      {
        actor,
        action: "token.created",
        target: `user:${user.id}`,
        outcome: "success",
        details: { token_id: t.id, name, expires_at: t.expiresAt, roles: ceiling ?? null, via: caller.via },
      },
      now,
    );
    return t;
  });
  if (issued === undefined) {
    return recordDenial(ctx, {
      actor,
      action: "token.create_refused",
      target: `user:${user.id}`,
      error: new DbwardError(
        "quota.exceeded",
        `${user.id} already holds ${MAX_LIVE_TOKENS_PER_USER} live tokens; revoke one first (dbward token list)`,
      ),
    });
  }
  return {
    id: issued.id,
    user: user.id,
    name,
    token: issued.secret,
    expires_at: issued.expiresAt,
    roles: ceiling === undefined ? null : [...ceiling].sort(),
  };
}

function parseBody(body: Record<string, unknown>): { name: string; days?: number; roles?: string[] } {
  const name = typeof body.name === "string" ? body.name.trim() : "";
  if (name === "" || name.length > 100)
    throw new DbwardError("request.invalid", "name (1-100 characters) is required");
  const days = body.expires_in_days;
  if (
    days !== undefined &&
    (typeof days !== "number" || !Number.isInteger(days) || days < 1 || days > MAX_DAYS)
  ) {
    throw new DbwardError("request.invalid", `expires_in_days must be a whole number from 1 to ${MAX_DAYS}`);
  }
  const roles = body.roles;
  if (
    roles !== undefined &&
    (!Array.isArray(roles) ||
      roles.length === 0 ||
      roles.length > 20 ||
      !roles.every((r): r is string => typeof r === "string" && r !== ""))
  ) {
    throw new DbwardError("request.invalid", "roles must be a non-empty list of role names");
  }
  return {
    name,
    ...(days !== undefined ? { days } : {}),
    ...(roles !== undefined ? { roles: [...new Set(roles)] } : {}),
  };
}
