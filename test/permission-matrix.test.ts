/**
 * The permission matrix (SECURITY.md principle 4, role escalation): every role — the four
 * built-in ones and a custom one from the config — against every identity and admin endpoint,
 * allowed and refused. A refusal is a 403 (or a 404 where the thing must not be revealed) and
 * leaves a denied audit event naming the caller.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { MeView, RequestView } from "@dbward/shared";
import { createJoinRequest } from "../bot/src/use-cases/create-join-request.ts";
import { auditAfter, auditHead, errorOf, GENEROUS_LIMITS } from "./support/audit-reader.ts";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";

const CONFIG = `
databases:
  - { name: legacy, dialect: mysql, environments: [production] }
workflows:
  - { name: reads, operations: [read], auto_approve: always }
  - name: writes
    operations: [write]
    steps: [{ approvers: ["role:approver"] }]
roles:
  auditor:
    description: reads the audit log and the user list
    permissions: [audit.read, user.read]
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: bob, name: Bob, roles: [approver] }
  - { id: olga, name: Olga, roles: [operator] }
  - { id: root, name: Root, roles: [admin] }
  - { id: ivy, name: Ivy, roles: [auditor] }
  - { id: frank, name: Frank, roles: [requester] }
join_requests:
  allowed_roles: [requester, approver]
${GENEROUS_LIMITS}`;

const ROLE_USERS = {
  requester: "alice",
  approver: "bob",
  operator: "olga",
  admin: "root",
  auditor: "ivy",
} as const;
type RoleName = keyof typeof ROLE_USERS;
const ALL: readonly RoleName[] = ["requester", "approver", "operator", "admin", "auditor"];

interface Case {
  readonly name: string;
  readonly allowed: readonly RoleName[];
  /** Builds a fresh call (its own fixtures) for one role. */
  call(h: BotHarness, role: RoleName): Promise<{ method: string; path: string; body?: unknown }>;
  /** Roles that may not even see the target: their refusal is a 404, revealing nothing. */
  readonly hiddenFrom?: readonly RoleName[];
}

let n = 0;
const unique = (prefix: string): string => `${prefix}-${++n}`;

async function franksRequest(h: BotHarness): Promise<number> {
  const res = await h.call(await h.tokenFor("frank"), "POST", "/api/requests", {
    database: "legacy",
    environment: "production",
    sql: `UPDATE t SET a = ${++n} WHERE id = ${n}`,
    reason: "matrix",
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return (res.body as RequestView).id;
}

async function throwawayUser(h: BotHarness): Promise<string> {
  const id = unique("victim");
  const res = await h.call(h.adminToken, "POST", "/api/users", { id, name: id, roles: ["requester"] });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return id;
}

async function joinRequest(h: BotHarness): Promise<string> {
  const slack = `U${String(++n).padStart(6, "0")}`;
  const view = await createJoinRequest(h.bot.ctx, {
    slackUserId: slack,
    name: `Person ${n}`,
    requestedRole: "requester",
    reason: "matrix",
  });
  return view.id;
}

const CASES: readonly Case[] = [
  { name: "GET /api/me", allowed: ALL, call: async () => ({ method: "GET", path: "/api/me" }) },
  {
    name: "POST /api/requests",
    allowed: ["requester"],
    call: async () => ({
      method: "POST",
      path: "/api/requests",
      body: { database: "legacy", environment: "production", sql: "SELECT 1", reason: "matrix" },
    }),
  },
  {
    name: "GET /api/requests/:id (someone else's)",
    allowed: ["approver", "operator", "admin"],
    hiddenFrom: ["requester", "auditor"],
    call: async (h) => ({ method: "GET", path: `/api/requests/${await franksRequest(h)}` }),
  },
  {
    name: "POST /api/requests/:id/cancel (someone else's)",
    allowed: ["operator"],
    hiddenFrom: ["requester", "auditor"],
    call: async (h) => ({
      method: "POST",
      path: `/api/requests/${await franksRequest(h)}/cancel`,
      body: { reason: "m" },
    }),
  },
  {
    name: "GET /api/audit",
    allowed: ["operator", "admin", "auditor"],
    call: async () => ({ method: "GET", path: "/api/audit?limit=1" }),
  },
  {
    name: "POST /api/tokens (own)",
    allowed: ["requester", "approver", "operator", "admin"],
    call: async () => ({ method: "POST", path: "/api/tokens", body: { name: unique("own") } }),
  },
  {
    name: "POST /api/tokens (for someone else)",
    allowed: ["admin"],
    call: async () => ({
      method: "POST",
      path: "/api/tokens",
      body: { user: "frank", name: unique("other") },
    }),
  },
  {
    name: "GET /api/tokens?all=true",
    allowed: ["admin"],
    call: async () => ({ method: "GET", path: "/api/tokens?all=true" }),
  },
  {
    name: "GET /api/users",
    allowed: ["operator", "admin", "auditor"],
    call: async () => ({ method: "GET", path: "/api/users" }),
  },
  {
    name: "GET /api/users/:id (someone else)",
    allowed: ["operator", "admin", "auditor"],
    call: async () => ({ method: "GET", path: "/api/users/frank" }),
  },
  {
    name: "POST /api/users",
    allowed: ["admin"],
    call: async () => ({
      method: "POST",
      path: "/api/users",
      body: { id: unique("new"), name: "New", roles: ["requester"] },
    }),
  },
  {
    name: "PATCH /api/users/:id",
    allowed: ["admin"],
    call: async (h) => ({
      method: "PATCH",
      path: `/api/users/${await throwawayUser(h)}`,
      body: { roles: ["approver"] },
    }),
  },
  {
    name: "POST /api/users/:id/suspend",
    allowed: ["admin"],
    call: async (h) => ({
      method: "POST",
      path: `/api/users/${await throwawayUser(h)}/suspend`,
      body: { reason: "m" },
    }),
  },
  {
    name: "POST /api/users/:id/activate",
    allowed: ["admin"],
    call: async (h) => {
      const id = await throwawayUser(h);
      assert.equal(
        (await h.call(h.adminToken, "POST", `/api/users/${id}/suspend`, { reason: "m" })).status,
        200,
      );
      return { method: "POST", path: `/api/users/${id}/activate`, body: { reason: "m" } };
    },
  },
  {
    name: "GET /api/join-requests",
    allowed: ["operator", "admin", "auditor"],
    call: async () => ({ method: "GET", path: "/api/join-requests" }),
  },
  {
    name: "POST /api/join-requests/:id/approve",
    allowed: ["admin"],
    call: async (h) => ({
      method: "POST",
      path: `/api/join-requests/${await joinRequest(h)}/approve`,
      body: {},
    }),
  },
  {
    name: "POST /api/join-requests/:id/reject",
    allowed: ["admin"],
    call: async (h) => ({
      method: "POST",
      path: `/api/join-requests/${await joinRequest(h)}/reject`,
      body: { reason: "m" },
    }),
  },
];

describe("permission matrix", () => {
  let h: BotHarness;
  before(async () => {
    h = await startBotHarness(CONFIG);
  });
  after(async () => h.stop());

  test("the custom role grants exactly its permission set", async () => {
    const view = (await h.call(await h.tokenFor("ivy"), "GET", "/api/me")).body as MeView;
    assert.deepEqual(view.roles, ["auditor"]);
    assert.deepEqual(view.permissions, ["audit.read", "user.read"]);
  });

  for (const c of CASES) {
    for (const role of ALL) {
      const allowed = c.allowed.includes(role);
      test(`${c.name}: ${role} is ${allowed ? "allowed" : "refused"}`, async () => {
        const user = ROLE_USERS[role];
        const token = role === "admin" ? h.adminToken : await h.tokenFor(user);
        const { method, path, body } = await c.call(h, role);
        const head = await auditHead(h);
        const res = await h.call(token, method, path, body);
        if (allowed) {
          assert.ok(res.status >= 200 && res.status < 300, `${res.status} ${JSON.stringify(res.body)}`);
          return;
        }
        if (c.hiddenFrom?.includes(role) === true) {
          assert.equal(res.status, 404, JSON.stringify(res.body));
          return;
        }
        assert.equal(res.status, 403, JSON.stringify(res.body));
        assert.equal(errorOf(res).code, "auth.forbidden");
        const denied = (await auditAfter(h, head)).filter(
          (e) => e.outcome === "denied" && e.actor === `user:${user}`,
        );
        assert.equal(denied.length, 1, "the refusal is audited, naming the caller");
      });
    }
  }
});
