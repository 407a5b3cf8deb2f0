import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DbwardError } from "@dbward/shared";
import { parseBotConfig } from "./bot-config.ts";

const BASE = `
databases: [{ name: shop, dialect: postgres, environments: [production] }]
workflows:
  - name: w
    steps: [{ approvers: ["role:dba-lead"] }]
    break_glass_roles: [dba-lead]
roles:
  dba-lead: { permissions: [request.view_all, audit.read] }
users:
  - { id: ada, name: Ada, roles: [dba-lead, requester] }
`;

function problems(text: string): string[] {
  try {
    parseBotConfig(text);
  } catch (err) {
    assert.ok(err instanceof DbwardError && err.code === "config.invalid");
    return (err.details?.problems as string[] | undefined) ?? [];
  }
  return [];
}

describe("identity config", () => {
  test("accepts custom roles in users, approver selectors and break-glass roles", () => {
    const c = parseBotConfig(BASE);
    assert.deepEqual(c.roles["dba-lead"]?.permissions, ["request.view_all", "audit.read"]);
    assert.deepEqual(c.join_requests, { allowed_roles: ["requester"], ttl_hours: 72 });
  });

  test("names every unknown role by its path", () => {
    const found = problems(
      BASE.replace("roles: [dba-lead, requester]", "roles: [dba-lead, superuser]")
        .replace('"role:dba-lead"', '"role:dba-leed"')
        .replace("break_glass_roles: [dba-lead]", "break_glass_roles: [root]"),
    );
    assert.ok(found.includes("users.0.roles.1: unknown role superuser"), found.join("\n"));
    assert.ok(found.includes("workflows.0.steps.0.approvers.0: unknown role dba-leed"), found.join("\n"));
    assert.ok(found.includes("workflows.0.break_glass_roles.0: unknown role root"), found.join("\n"));
  });

  test("refuses redefining a built-in role and an unknown permission", () => {
    const redefined = BASE.replace("roles:\n", "roles:\n  admin: { permissions: [audit.read] }\n");
    assert.ok(problems(redefined).some((p) => p.startsWith("roles.admin:")));
    assert.ok(
      problems(BASE.replace("audit.read]", "audit.write]")).some((p) =>
        p.startsWith("roles.dba-lead.permissions"),
      ),
    );
  });

  test("refuses an OIDC issuer over plain http unless it is on loopback, and unknown mapped roles", () => {
    const oidc = (issuer: string, role = "requester") =>
      `${BASE}oidc:\n  issuer: ${issuer}\n  audience: dbward\n  client_id: cli\n  group_mappings: [{ group: g, roles: [${role}] }]\n`;
    assert.deepEqual(problems(oidc("http://127.0.0.1:8080")), []);
    assert.deepEqual(problems(oidc("https://idp.example/realms/acme")), []);
    assert.ok(problems(oidc("http://idp.example")).some((p) => p.startsWith("oidc.issuer:")));
    assert.ok(
      problems(oidc("https://idp.example", "boss")).includes(
        "oidc.group_mappings.0.roles.0: unknown role boss",
      ),
    );
  });

  test("refuses alg none or HMAC in the accepted algorithms", () => {
    const text = `${BASE}oidc:\n  issuer: https://idp.example\n  audience: d\n  client_id: c\n  algorithms: [none, HS256]\n`;
    assert.ok(problems(text).some((p) => p.startsWith("oidc.algorithms")));
  });
});
