/** Who the bot thinks is calling (GET /api/me, `dbward login`): the record and the roles this call acts with. */
import { DbwardError, type MeView, type OidcLoginInfoView } from "@dbward/shared";
import { findUser, toUserView } from "../identity/users.ts";
import type { BotContext } from "./bot-context.ts";
import type { UserCaller } from "./caller.ts";

export async function describeCaller(ctx: BotContext, caller: UserCaller): Promise<MeView> {
  const user = await findUser(ctx.store, caller.user.id);
  if (user === undefined) throw new DbwardError("user.not_found", `there is no user ${caller.user.id}`);
  return {
    user: toUserView(user),
    roles: [...caller.user.roles],
    permissions: [...caller.permissions].sort(),
    via: caller.via,
  };
}

/** What `dbward login` needs to start the device authorization grant; undefined without OIDC. */
export function oidcLoginInfo(ctx: BotContext): OidcLoginInfoView | undefined {
  const o = ctx.config().oidc;
  if (o === undefined) return undefined;
  return {
    issuer: o.issuer,
    client_id: o.client_id,
    scopes: [...o.scopes],
    resource: o.resource ?? null,
    bearer: o.bearer,
  };
}
