/**
 * Roles to permissions: the one table every adapter asks (SECURITY.md principle 4: every caller,
 * every call). Built-in roles have fixed duties; the config may add custom roles as named
 * permission sets. Approving is not listed: who may approve a request is decided by its workflow
 * (role, group and user selectors), never by a permission.
 */

export const PERMISSIONS = [
  "request.create",
  "request.view_all",
  "request.cancel_any",
  /** Run a lost request again (a new execution with a new token); never automatic. */
  "request.retry",
  "result.read_any",
  "audit.read",
  /** Create, list and revoke one's own API tokens. */
  "token.self",
  /** Create, list and revoke anyone's tokens, agent tokens included. */
  "token.manage",
  /** See users and join requests. */
  "user.read",
  /** Add users, change their roles and groups, suspend and activate them, decide join requests. */
  "user.manage",
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const BUILTIN_ROLES = ["requester", "approver", "operator", "admin"] as const;
export type BuiltinRole = (typeof BUILTIN_ROLES)[number];

const GRANTS = {
  requester: ["request.create", "token.self"],
  approver: ["request.view_all", "token.self"],
  operator: [
    "request.view_all",
    "request.cancel_any",
    "request.retry",
    "result.read_any",
    "audit.read",
    "token.self",
    "user.read",
  ],
  // Admins run dbward; they do not run SQL of their own (separation of duties).
  admin: ["request.view_all", "audit.read", "token.self", "token.manage", "user.read", "user.manage"],
} as const satisfies Record<BuiltinRole, readonly Permission[]>;

/** Custom roles from the config: role name → its permissions. */
export type CustomRoles = Readonly<Record<string, { readonly permissions: readonly Permission[] }>>;

export function isBuiltinRole(role: string): role is BuiltinRole {
  return (BUILTIN_ROLES as readonly string[]).includes(role);
}

/** Every role name that means something: built in, or defined in the config. */
export function isKnownRole(role: string, custom: CustomRoles): boolean {
  return isBuiltinRole(role) || Object.hasOwn(custom, role);
}

/** The permissions a set of roles grants. An unknown role (say, one removed from the config) grants nothing. */
export function permissionsOf(roles: readonly string[], custom: CustomRoles = {}): ReadonlySet<Permission> {
  const granted = new Set<Permission>();
  for (const role of roles) {
    const list: readonly Permission[] = isBuiltinRole(role)
      ? GRANTS[role]
      : Object.hasOwn(custom, role)
        ? (custom[role]?.permissions ?? [])
        : [];
    list.forEach((p) => granted.add(p));
  }
  return granted;
}

export function hasPermission(
  roles: readonly string[],
  permission: Permission,
  custom: CustomRoles = {},
): boolean {
  return permissionsOf(roles, custom).has(permission);
}

/**
 * The roles a call acts with: the user's roles, narrowed by a token's ceiling when it has one
 * (a token can never exceed its ceiling, nor its user).
 */
export function effectiveRoles(userRoles: readonly string[], ceiling: readonly string[] | null): string[] {
  return ceiling === null ? [...userRoles] : userRoles.filter((r) => ceiling.includes(r));
}
