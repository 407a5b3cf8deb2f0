/**
 * Revoke an API token: one's own (`token.self`), or anyone's, agent tokens included
 * (`token.manage`). It stops working on the very next call: every call looks the token up.
 * Someone else's token answers as missing, so ids cannot be probed; the attempt is audited.
 */
import { DbwardError, type TokenView } from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import { findTokenRow, revokeTokenRow, toTokenView } from "../identity/token-records.ts";
import { inTransaction } from "../store/in-transaction.ts";
import type { BotContext } from "./bot-context.ts";
import { actorOf, can, type UserCaller } from "./caller.ts";
import { recordDenial } from "./record-denial.ts";

export async function revokeApiToken(ctx: BotContext, caller: UserCaller, id: string): Promise<TokenView> {
  const actor = actorOf(caller);
  const notFound = new DbwardError("api_token.not_found", `there is no token ${id}`);
  const row = await findTokenRow(ctx.store, id);
  if (row === undefined) throw notFound;
  const own = row.kind === "user" && row.subject === caller.user.id;
  if (!can(caller, "token.manage") && !(own && can(caller, "token.self"))) {
    return recordDenial(ctx, {
      actor,
      action: "token.revoke_refused",
      target: `${row.kind}:${row.subject}`,
      error: own ? new DbwardError("auth.forbidden", "your roles do not allow API tokens") : notFound,
      details: { token_id: id },
    });
  }
  const now = ctx.clock.now();
  await inTransaction(ctx.store, async (tx) => {
    if (!(await revokeTokenRow(tx, id, now))) return; // already revoked: nothing changes, nothing to record
    await appendAudit(
      tx,
      {
        actor,
        action: "token.revoked",
        target: `${row.kind}:${row.subject}`,
        outcome: "success",
        details: { token_id: id, name: row.name, via: caller.via },
      },
      now,
    );
  });
  const after = await findTokenRow(ctx.store, id);
  return toTokenView(after ?? row, now);
}
