/** Who is calling a use case, already authenticated by an adapter. */
import { DbwardError } from "@dbward/shared";
import { hasPermission, type Permission } from "../core/permissions.ts";
import type { User } from "../identity/users.ts";

export interface UserCaller {
  readonly kind: "user";
  readonly user: User;
  /** How the caller proved who they are, for the audit trail. */
  readonly via: "api_token" | "slack" | "oidc" | "local";
}

export function actorOf(caller: UserCaller): string {
  return `user:${caller.user.id}`;
}

export function assertPermission(caller: UserCaller, permission: Permission): void {
  if (caller.user.status !== "active")
    throw new DbwardError("auth.suspended", "your dbward account is suspended");
  if (!hasPermission(caller.user.roles, permission)) {
    throw new DbwardError(
      "auth.forbidden",
      `your roles (${caller.user.roles.join(", ")}) do not allow ${permission}`,
    );
  }
}
