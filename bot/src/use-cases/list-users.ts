/** Users as admins and operators see them (`user.read`). */
import type { UserView } from "@dbward/shared";
import { DbwardError } from "@dbward/shared";
import { findUser, listUsers, toUserView } from "../identity/users.ts";
import type { BotContext } from "./bot-context.ts";
import { actorOf, can, type UserCaller } from "./caller.ts";
import { recordDenial } from "./record-denial.ts";

async function assertMayRead(ctx: BotContext, caller: UserCaller, target: string): Promise<void> {
  if (can(caller, "user.read")) return;
  await recordDenial(ctx, {
    actor: actorOf(caller),
    action: "user.read_refused",
    target,
    error: new DbwardError(
      "auth.forbidden",
      `your roles (${caller.user.roles.join(", ") || "none"}) do not allow user.read`,
    ),
  });
}

export async function listUserViews(ctx: BotContext, caller: UserCaller): Promise<UserView[]> {
  await assertMayRead(ctx, caller, "");
  return (await listUsers(ctx.store)).map(toUserView);
}

/** One user: anyone may see themselves; others need `user.read`. */
export async function getUserView(ctx: BotContext, caller: UserCaller, id: string): Promise<UserView> {
  if (id !== caller.user.id) await assertMayRead(ctx, caller, `user:${id}`);
  const user = await findUser(ctx.store, id);
  if (user === undefined) throw new DbwardError("user.not_found", `there is no user ${id}`);
  return toUserView(user);
}
