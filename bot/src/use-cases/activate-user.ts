/**
 * Activate a suspended user (`user.manage`). Access comes back; the tokens revoked at suspension
 * stay revoked, and cancelled requests stay cancelled: the person asks again.
 */
import { DbwardError, type UserView } from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import { findUser, toUserView } from "../identity/users.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { casUserStatus } from "../store/users-repo.ts";
import type { BotContext } from "./bot-context.ts";
import { actorOf, can, type UserCaller } from "./caller.ts";
import { recordDenial } from "./record-denial.ts";

export async function activateUser(
  ctx: BotContext,
  caller: UserCaller,
  id: string,
  reasonText: string,
): Promise<UserView> {
  const actor = actorOf(caller);
  if (!can(caller, "user.manage")) {
    return recordDenial(ctx, {
      actor,
      action: "user.activate_refused",
      target: `user:${id}`,
      error: new DbwardError("auth.forbidden", "only an admin can activate users"),
    });
  }
  const reason = reasonText.trim().slice(0, 500);
  const now = ctx.clock.now();
  await inTransaction(ctx.store, async (tx) => {
    if (!(await casUserStatus(tx, id, "suspended", "active", now))) {
      if ((await findUser(tx, id)) === undefined)
        throw new DbwardError("user.not_found", `there is no user ${id}`);
      return; // already active: nothing changes, nothing to record
    }
    await appendAudit(
      tx,
      {
        actor,
        action: "user.activated",
        target: `user:${id}`,
        outcome: "success",
        details: { reason, via: caller.via },
      },
      now,
    );
  });
  const user = await findUser(ctx.store, id);
  if (user === undefined) throw new DbwardError("user.not_found", `there is no user ${id}`);
  return toUserView(user);
}
