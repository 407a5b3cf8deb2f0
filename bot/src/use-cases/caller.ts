/**
 * Who is calling a use case, already authenticated by an adapter, and what the call may do.
 * Permissions are resolved once, here, from the user's roles narrowed by a token's ceiling and the
 * config's custom roles; every use case asks `can`/`assertPermission` (SECURITY.md principle 4).
 */
import { DbwardError } from "@dbward/shared";
import { effectiveRoles, permissionsOf, type Permission } from "../core/permissions.ts";
import type { User } from "../identity/users.ts";
import type { BotContext } from "./bot-context.ts";

export type CallerVia = "api_token" | "slack" | "oidc" | "local";

export interface UserCaller {
  readonly kind: "user";
  /** The user, with `roles` already narrowed to the roles this call acts with. */
  readonly user: User;
  /** How the caller proved who they are, for the audit trail. */
  readonly via: CallerVia;
  /** What this call may do. */
  readonly permissions: ReadonlySet<Permission>;
  /** The API token the call came with, when it came with one. */
  readonly tokenId?: string;
  /** A bearer JWT's `auth_time`: when its holder last signed in at the provider (step-up). */
  readonly authTime?: Date;
}

/** Builds the caller for an authenticated, active user; `token` narrows it to its ceiling. */
export function userCaller(
  ctx: Pick<BotContext, "config">,
  user: User,
  via: CallerVia,
  token?: { readonly id: string; readonly ceiling: readonly string[] | null },
): UserCaller {
  const roles = effectiveRoles(user.roles, token?.ceiling ?? null);
  return {
    kind: "user",
    user: { ...user, roles },
    via,
    permissions: permissionsOf(roles, ctx.config().roles),
    ...(token !== undefined ? { tokenId: token.id } : {}),
  };
}

export function actorOf(caller: UserCaller): string {
  return `user:${caller.user.id}`;
}

export function can(caller: UserCaller, permission: Permission): boolean {
  return caller.user.status === "active" && caller.permissions.has(permission);
}

export function assertPermission(caller: UserCaller, permission: Permission): void {
  if (caller.user.status !== "active")
    throw new DbwardError("auth.suspended", "your dbward account is suspended");
  if (!caller.permissions.has(permission)) {
    const roles = caller.user.roles.length === 0 ? "none" : caller.user.roles.join(", ");
    throw new DbwardError("auth.forbidden", `your roles (${roles}) do not allow ${permission}`);
  }
}
