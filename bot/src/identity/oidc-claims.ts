/**
 * From a verified token's claims to dbward's view of the person. Roles and groups come only from
 * the server-side group mappings in the config, never from a claim naming a dbward role
 * (SECURITY.md: role escalation).
 */
import type { JWTPayload } from "jose";
import type { OidcConfig } from "../config/bot-config.ts";

export interface OidcProfile {
  /** The identity provider's groups, as the group claim lists them. */
  readonly idpGroups: readonly string[];
  readonly roles: readonly string[];
  readonly groups: readonly string[];
  readonly username: string | undefined;
  readonly name: string;
  readonly email: string | null;
}

export function profileFromClaims(claims: JWTPayload & { sub: string }, cfg: OidcConfig): OidcProfile {
  const idpGroups = stringList(claims[cfg.group_claim]);
  const roles = new Set<string>();
  const groups = new Set<string>();
  for (const m of cfg.group_mappings) {
    if (!idpGroups.includes(m.group)) continue;
    m.roles.forEach((r) => roles.add(r));
    m.groups.forEach((g) => groups.add(g));
  }
  const username = text(claims[cfg.username_claim]);
  const email = text(claims.email);
  return {
    idpGroups,
    roles: [...roles].sort(),
    groups: [...groups].sort(),
    username,
    name: (text(claims.name) ?? username ?? email ?? claims.sub).slice(0, 100),
    email: email !== undefined && /^[^\s@]{1,64}@[^\s@]{1,255}$/.test(email) ? email : null,
  };
}

/** A group claim is a list of strings; some providers send one string. Anything else is no groups. */
function stringList(value: unknown): string[] {
  if (typeof value === "string") return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}
