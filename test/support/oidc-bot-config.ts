/** A bot config that trusts the test identity provider (oidc-provider.ts), for the OIDC suites. */
import { GENEROUS_LIMITS } from "./audit-reader.ts";
import { IDP_AUDIENCE, IDP_CLIENT_ID, IDP_RESOURCE_SCOPE } from "./oidc-provider.ts";

export function oidcBotConfig(issuer: string, jit: "create" | "refuse"): string {
  return `
databases:
  - { name: shop, dialect: postgres, environments: [production] }
workflows:
  - { name: reads, operations: [read], auto_approve: always }
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: root, name: Root, roles: [admin] }
oidc:
  issuer: ${issuer}
  audience: ${IDP_AUDIENCE}
  client_id: ${IDP_CLIENT_ID}
  scopes: [openid, profile, email, offline_access, ${IDP_RESOURCE_SCOPE}]
  resource: ${IDP_AUDIENCE}
  jit: ${jit}
  jwks_cooldown_seconds: 0
  group_mappings:
    - { group: dbward-requesters, roles: [requester] }
    - { group: dbward-approvers, roles: [approver], groups: [dba] }
${GENEROUS_LIMITS}`;
}
