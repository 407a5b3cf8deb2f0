/**
 * The config sections about people (docs/authentication.md, docs/authorization.md): custom
 * `roles` (named permission sets), `oidc` (bearer JWTs from one identity provider, with roles
 * from server-side group mappings only) and `join_requests` (what people asking to join may ask
 * for). Role names anywhere in the config are checked here against built-in and custom roles.
 */
import { NAME_RULE } from "@dbward/shared";
import { z } from "zod";
import { BUILTIN_ROLES, PERMISSIONS } from "../core/permissions.ts";

const name = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, `must be ${NAME_RULE}`);

export const customRoleSchema = z.strictObject({
  description: z.string().max(200).optional(),
  permissions: z.array(z.enum(PERMISSIONS)).min(1),
});

/** JWS algorithms accepted from the identity provider; `none` and HMAC never are. */
export const OIDC_ALGORITHMS = ["RS256", "ES256", "EdDSA"] as const;

const groupMappingSchema = z.strictObject({
  /** A value of the group claim, exactly as the identity provider sends it. */
  group: z.string().min(1).max(300),
  roles: z.array(name).default([]),
  groups: z.array(name).default([]),
});

export const oidcSchema = z.strictObject({
  /** The issuer identifier; discovery reads `<issuer>/.well-known/openid-configuration`. */
  issuer: z.url(),
  /** The `aud` value dbward requires in every bearer JWT. */
  audience: z.string().min(1).max(300),
  /** The public client `dbward login` signs in as (device authorization grant). */
  client_id: z.string().min(1).max(300),
  scopes: z
    .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, "must be a scope token"))
    .default(["openid", "profile", "email"]),
  /** RFC 8707 resource indicator the CLI sends, for providers that issue audience-bound JWTs so. */
  resource: z.url().optional(),
  /** Which token `dbward login` presents: the access token, or the ID token (audience = client id). */
  bearer: z.enum(["access_token", "id_token"]).default("access_token"),
  /** The claim a just-in-time user's id is made from. */
  username_claim: z.string().min(1).max(100).default("preferred_username"),
  group_claim: z.string().min(1).max(100).default("groups"),
  group_mappings: z.array(groupMappingSchema).default([]),
  /** A valid identity dbward has not seen: create the user with the mapped roles, or refuse. */
  jit: z.enum(["create", "refuse"]).default("refuse"),
  leeway_seconds: z.number().int().min(0).max(300).default(30),
  algorithms: z
    .array(z.enum(OIDC_ALGORITHMS))
    .min(1)
    .default([...OIDC_ALGORITHMS]),
  /** Least time between two key set fetches caused by unknown key ids. */
  jwks_cooldown_seconds: z.number().int().min(0).max(3600).default(30),
  /** How long a fetched key set is trusted before it is fetched again. */
  jwks_cache_seconds: z.number().int().min(60).max(86_400).default(600),
  timeout_ms: z.number().int().min(100).max(60_000).default(5000),
});

export const joinRequestsSchema = z.strictObject({
  /** Roles a person may ask for when asking to join. */
  allowed_roles: z.array(name).min(1).default(["requester"]),
  ttl_hours: z
    .number()
    .int()
    .min(1)
    .max(30 * 24)
    .default(72),
});

export const identityDefaults = {
  roles: {},
  join_requests: joinRequestsSchema.parse({}),
} as const;

export type CustomRoleConfig = z.infer<typeof customRoleSchema>;
export type OidcConfig = z.infer<typeof oidcSchema>;
export type JoinRequestsConfig = z.infer<typeof joinRequestsSchema>;

/** The parts of the whole config these checks read. */
interface IdentityView {
  readonly roles: Readonly<Record<string, CustomRoleConfig>>;
  readonly users: readonly { readonly roles: readonly string[] }[];
  readonly workflows: readonly {
    readonly break_glass_roles: readonly string[];
    readonly steps: readonly {
      readonly approvers: readonly string[];
      readonly escalate_to?: readonly string[] | undefined;
    }[];
  }[];
  readonly oidc?: OidcConfig | undefined;
  readonly join_requests: JoinRequestsConfig;
}

/** Every role name the config uses must be built in or defined under `roles:`. */
export function identityProblems(c: IdentityView): string[] {
  const problems: string[] = [];
  const known = new Set<string>([...BUILTIN_ROLES, ...Object.keys(c.roles)]);
  const check = (path: string, role: string): void => {
    if (!known.has(role)) problems.push(`${path}: unknown role ${role}`);
  };
  Object.keys(c.roles).forEach((r) => {
    if ((BUILTIN_ROLES as readonly string[]).includes(r))
      problems.push(`roles.${r}: ${r} is a built-in role and cannot be redefined`);
  });
  c.users.forEach((u, i) => u.roles.forEach((r, j) => check(`users.${i}.roles.${j}`, r)));
  c.workflows.forEach((w, i) => {
    w.break_glass_roles.forEach((r, j) => check(`workflows.${i}.break_glass_roles.${j}`, r));
    w.steps.forEach((st, j) =>
      st.approvers.forEach((sel, k) => {
        const [kind, value = ""] = sel.split(":", 2);
        if (kind === "role") check(`workflows.${i}.steps.${j}.approvers.${k}`, value);
      }),
    );
    w.steps.forEach((st, j) =>
      (st.escalate_to ?? []).forEach((sel, k) => {
        const [kind, value = ""] = sel.split(":", 2);
        if (kind === "role") check(`workflows.${i}.steps.${j}.escalate_to.${k}`, value);
      }),
    );
  });
  c.join_requests.allowed_roles.forEach((r, i) => check(`join_requests.allowed_roles.${i}`, r));
  if (c.oidc !== undefined) {
    c.oidc.group_mappings.forEach((m, i) =>
      m.roles.forEach((r, j) => check(`oidc.group_mappings.${i}.roles.${j}`, r)),
    );
    if (!isSafeIssuer(c.oidc.issuer))
      problems.push("oidc.issuer: must be https (plain http only on a loopback address)");
  }
  return problems;
}

/** https, or http on loopback (a provider on the same machine, as in tests). */
export function isSafeIssuer(issuer: string): boolean {
  const u = new URL(issuer);
  if (u.protocol === "https:") return true;
  return u.protocol === "http:" && ["127.0.0.1", "[::1]", "localhost"].includes(u.hostname);
}
