/**
 * Roles to permissions: the one table every adapter asks (SECURITY.md principle 4: every caller,
 * every call). Approving is not listed: who may approve a request is decided by its workflow.
 */
import type { Role } from "../config/bot-config.ts";

export const PERMISSIONS = [
  "request.create",
  "request.view_all",
  "request.cancel_any",
  "result.read_any",
  "audit.read",
  "token.manage",
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const GRANTS = {
  requester: ["request.create"],
  approver: ["request.view_all"],
  operator: ["request.view_all", "request.cancel_any", "result.read_any", "audit.read"],
  // Admins run dbward; they do not run SQL of their own (separation of duties).
  admin: ["request.view_all", "audit.read", "token.manage"],
} as const satisfies Record<Role, readonly Permission[]>;

export function hasPermission(roles: readonly Role[], permission: Permission): boolean {
  return roles.some((r) => (GRANTS[r] as readonly Permission[]).includes(permission));
}
