/**
 * List API tokens: one's own (`token.self`), or anyone's, agent tokens included (`token.manage`).
 * Views carry a short hint, never the secret or its hash.
 */
import { DbwardError, parseUserId, type TokenView } from "@dbward/shared";
import { listTokenRows, toTokenView } from "../identity/token-records.ts";
import type { BotContext } from "./bot-context.ts";
import { actorOf, can, type UserCaller } from "./caller.ts";
import { recordDenial } from "./record-denial.ts";

export interface TokenListFilter {
  /** Someone else's tokens (needs `token.manage`). */
  readonly user?: string;
  /** Every token, agent tokens included (needs `token.manage`). */
  readonly all?: boolean;
}

export async function listApiTokens(
  ctx: BotContext,
  caller: UserCaller,
  filter: TokenListFilter,
): Promise<TokenView[]> {
  const userId = filter.user === undefined ? caller.user.id : parseUserId(filter.user);
  if (userId === undefined) throw new DbwardError("request.invalid", "user must be a user id");
  const own = filter.all !== true && userId === caller.user.id;
  if (!can(caller, "token.manage") && !(own && can(caller, "token.self"))) {
    return recordDenial(ctx, {
      actor: actorOf(caller),
      action: "token.list_refused",
      target: filter.all === true ? "" : `user:${userId}`,
      error: new DbwardError(
        "auth.forbidden",
        own ? "your roles do not allow API tokens" : "only an admin can list others' tokens",
      ),
    });
  }
  const rows = await listTokenRows(ctx.store, filter.all === true ? {} : { kind: "user", subject: userId });
  const now = ctx.clock.now();
  return rows.map((r) => toTokenView(r, now));
}
