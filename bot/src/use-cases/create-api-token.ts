/** An admin issues an API token for a user. The secret is returned once and stored only hashed. */
import { DbwardError, parseUserId, type CreateTokenBody, type CreatedTokenView } from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import { issueToken } from "../identity/api-tokens.ts";
import { findUser } from "../identity/users.ts";
import { inTransaction } from "../store/in-transaction.ts";
import type { BotContext } from "./bot-context.ts";
import { actorOf, assertPermission, type UserCaller } from "./caller.ts";
import { recordDenial } from "./record-denial.ts";

const MAX_DAYS = 366;

export async function createApiToken(
  ctx: BotContext,
  caller: UserCaller,
  body: Partial<CreateTokenBody>,
): Promise<CreatedTokenView> {
  const actor = actorOf(caller);
  try {
    assertPermission(caller, "token.manage");
  } catch (err) {
    return recordDenial(ctx, {
      actor,
      action: "token.create_refused",
      target: "",
      error: err as DbwardError,
    });
  }
  const userId = parseUserId(body.user);
  const name = typeof body.name === "string" ? body.name.trim() : "";
  const days = body.expires_in_days;
  if (userId === undefined || name === "" || name.length > 100)
    throw new DbwardError("request.invalid", "user and name (1-100 characters) are required");
  if (days !== undefined && (!Number.isInteger(days) || days < 1 || days > MAX_DAYS)) {
    throw new DbwardError("request.invalid", `expires_in_days must be a whole number from 1 to ${MAX_DAYS}`);
  }
  const user = await findUser(ctx.store, userId);
  if (user === undefined) throw new DbwardError("request.not_found", `there is no user ${userId}`);
  const now = ctx.clock.now();
  const issued = await inTransaction(ctx.store, async (tx) => {
    const t = await issueToken(tx, ctx, {
      kind: "user",
      subject: user.id,
      name,
      ...(days !== undefined ? { expiresAt: new Date(now.getTime() + days * 86_400_000) } : {}),
    });
    await appendAudit(
      tx,
      {
        actor,
        action: "token.created",
        target: `user:${user.id}`,
        outcome: "success",
        details: { token_id: t.id, name, expires_at: t.expiresAt },
      },
      now,
    );
    return t;
  });
  return { id: issued.id, user: user.id, name, token: issued.secret, expires_at: issued.expiresAt };
}
