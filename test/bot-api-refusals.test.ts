/**
 * Every refusal path of the bot's HTTP API, over real HTTP against a real bot on a temp SQLite
 * file (SECURITY.md: fail closed, separation of duties, forged API token, information leaks).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  base64url,
  fromBase64url,
  parsePublicKey,
  type AuditEventView,
  type AuditListView,
  type ErrorBody,
  type PublicKeysView,
  type RequestListView,
  type RequestView,
} from "@dbward/shared";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";

const CONFIG = `
databases:
  - name: shop
    dialect: postgres
    environments: [production, staging]
  - name: legacy
    dialect: mysql
    environments: [production]
workflows:
  - name: reads-auto
    operations: [read]
    auto_approve: always
  - name: legacy-writes
    database: legacy
    environment: production
    operations: [write]
    steps:
      - approvers: ["role:approver"]
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: erin, name: Erin, roles: [requester] }
  - { id: frank, name: Frank, roles: [requester] }
  - { id: bob, name: Bob, roles: [approver] }
  - { id: carol, name: Carol, roles: [approver] }
  - { id: dave, name: Dave, roles: [requester, approver] }
  - { id: olga, name: Olga, roles: [operator] }
  - { id: root, name: Root, roles: [admin] }
agents:
  - id: agent-1
`;

let sqlCounter = 0;
/** A write no other test uses, so requests and audit events are easy to tell apart. */
const uniqueWrite = (): string => `UPDATE accounts SET flag = ${++sqlCounter} WHERE id = ${sqlCounter}`;

function errorOf(res: { body: unknown }): ErrorBody["error"] {
  const body = res.body as Partial<ErrorBody> | undefined;
  assert.ok(body?.error !== undefined, `expected an error body, got ${JSON.stringify(res.body)}`);
  return body.error;
}

describe("bot API refusals", () => {
  let h: BotHarness;
  before(async () => {
    h = await startBotHarness(CONFIG);
  });
  after(async () => h.stop());

  /** Every audit event after `afterSeq`, read through the API as an admin. */
  async function auditAfter(afterSeq = 0): Promise<AuditEventView[]> {
    const events: AuditEventView[] = [];
    for (let seq = afterSeq; ;) {
      const res = await h.call(h.adminToken, "GET", `/api/audit?after=${seq}&limit=1000`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const page = (res.body as AuditListView).events;
      events.push(...page);
      const last = page.at(-1);
      if (last === undefined) return events;
      seq = last.seq;
    }
  }
  const auditHead = async (): Promise<number> => (await auditAfter()).at(-1)?.seq ?? 0;

  async function createLegacyWrite(requester: string): Promise<RequestView> {
    const res = await h.call(await h.tokenFor(requester), "POST", "/api/requests", {
      database: "legacy",
      environment: "production",
      sql: uniqueWrite(),
      reason: "test",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const view = res.body as RequestView;
    assert.equal(view.status, "pending_approval");
    return view;
  }

  async function statusOf(id: number): Promise<RequestView> {
    const res = await h.call(await h.tokenFor("olga"), "GET", `/api/requests/${id}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as RequestView;
  }

  describe("creating a request (fail closed)", () => {
    test("refuses SQL no workflow covers with 422 request.no_workflow, and audits the denial", async () => {
      const head = await auditHead();
      const sql = uniqueWrite();
      const res = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
        database: "shop",
        environment: "production",
        sql,
        reason: "fix an order",
      });
      assert.equal(res.status, 422, JSON.stringify(res.body));
      const error = errorOf(res);
      assert.equal(error.code, "request.no_workflow");
      assert.ok(error.message.includes("shop"), "the message says which database has no workflow");
      const denials = (await auditAfter(head)).filter((e) => e.action === "request.create_refused");
      assert.equal(denials.length, 1);
      assert.equal(denials[0]?.actor, "user:alice");
      assert.equal(denials[0]?.outcome, "denied");
      assert.equal(denials[0]?.details.code, "request.no_workflow");
      const mine = await h.call(await h.tokenFor("alice"), "GET", "/api/requests?mine=true");
      assert.ok(!(mine.body as RequestListView).requests.some((r) => r.sql === sql), "nothing was created");
    });

    test("refuses an unknown database with 400, naming it and the known ones", async () => {
      const res = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
        database: "shopp",
        environment: "production",
        sql: "SELECT 1",
        reason: "typo",
      });
      assert.equal(res.status, 400);
      const error = errorOf(res);
      assert.equal(error.code, "request.invalid");
      for (const name of ["shopp", "shop", "legacy"]) assert.ok(error.message.includes(name), error.message);
    });

    test("refuses an environment the database does not have with 400, naming the ones it has", async () => {
      const res = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
        database: "shop",
        environment: "qa",
        sql: "SELECT 1",
        reason: "typo",
      });
      assert.equal(res.status, 400);
      const error = errorOf(res);
      assert.equal(error.code, "request.invalid");
      for (const name of ["qa", "production", "staging"])
        assert.ok(error.message.includes(name), error.message);
    });

    test("refuses a request without SQL and reason with 400, listing both problems", async () => {
      const res = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
        database: "legacy",
        environment: "production",
        reason: "   ",
      });
      assert.equal(res.status, 400);
      const error = errorOf(res);
      assert.equal(error.code, "request.invalid");
      const problems = error.details?.problems;
      assert.ok(Array.isArray(problems), JSON.stringify(error));
      assert.ok(
        problems.some((p) => String(p).startsWith("sql:")),
        JSON.stringify(problems),
      );
      assert.ok(
        problems.some((p) => String(p).startsWith("reason:")),
        JSON.stringify(problems),
      );
    });

    test("refuses a request with nothing in it, listing every missing field", async () => {
      const res = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {});
      assert.equal(res.status, 400);
      const problems = errorOf(res).details?.problems;
      assert.ok(Array.isArray(problems));
      for (const field of ["database:", "environment:", "sql:", "reason:"]) {
        assert.ok(
          problems.some((p) => String(p).startsWith(field)),
          `${field} in ${JSON.stringify(problems)}`,
        );
      }
    });

    test("refuses a body over 100 KB with 413 request.too_large, creating nothing", async () => {
      const before = await h.call(await h.tokenFor("olga"), "GET", "/api/requests?limit=500");
      const res = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
        database: "legacy",
        environment: "production",
        sql: `UPDATE t SET c = '${"x".repeat(101 * 1024)}' WHERE id = 1`,
        reason: "big",
      });
      assert.equal(res.status, 413);
      assert.equal(errorOf(res).code, "request.too_large");
      const afterwards = await h.call(await h.tokenFor("olga"), "GET", "/api/requests?limit=500");
      assert.deepEqual(afterwards.body, before.body);
    });

    test("refuses a body that is not JSON with 400", async () => {
      const res = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", '{"database": "legacy",');
      assert.equal(res.status, 400);
      assert.equal(errorOf(res).code, "request.invalid");
    });

    test("refuses a JSON body that is not an object with 400", async () => {
      const res = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", "[1, 2, 3]");
      assert.equal(res.status, 400);
      assert.equal(errorOf(res).code, "request.invalid");
    });

    test("refuses SQL from an admin with 403 and audits it: admins run dbward, not SQL", async () => {
      const head = await auditHead();
      const res = await h.call(h.adminToken, "POST", "/api/requests", {
        database: "legacy",
        environment: "production",
        sql: uniqueWrite(),
        reason: "admin wants to",
      });
      assert.equal(res.status, 403);
      assert.equal(errorOf(res).code, "auth.forbidden");
      const denial = (await auditAfter(head)).find((e) => e.action === "request.create_refused");
      assert.equal(denial?.actor, "user:root");
      assert.equal(denial?.outcome, "denied");
    });

    test("refuses SQL from an approver who is not a requester", async () => {
      const res = await h.call(await h.tokenFor("bob"), "POST", "/api/requests", {
        database: "legacy",
        environment: "production",
        sql: uniqueWrite(),
        reason: "approver wants to",
      });
      assert.equal(res.status, 403);
      assert.equal(errorOf(res).code, "auth.forbidden");
    });
  });

  describe("deciding a request (separation of duties)", () => {
    test("refuses self-approval with 403 request.self_approval, audits it, and records no approval", async () => {
      const r = await createLegacyWrite("dave");
      const head = await auditHead();
      const res = await h.call(await h.tokenFor("dave"), "POST", `/api/requests/${r.id}/approve`, {});
      assert.equal(res.status, 403, JSON.stringify(res.body));
      assert.equal(errorOf(res).code, "request.self_approval");
      const denial = (await auditAfter(head)).find((e) => e.action === "request.approve_refused");
      assert.equal(denial?.actor, "user:dave");
      assert.equal(denial?.target, `request:${r.id}`);
      assert.equal(denial?.outcome, "denied");
      assert.equal(denial?.details.code, "request.self_approval");
      const now = await statusOf(r.id);
      assert.equal(now.status, "pending_approval");
      assert.deepEqual(now.approvals, []);
    });

    test("refuses approval by users who are not approvers", async () => {
      const r = await createLegacyWrite("alice");
      for (const who of ["olga", "root"]) {
        const res = await h.call(await h.tokenFor(who), "POST", `/api/requests/${r.id}/approve`, {});
        assert.equal(res.status, 403, `${who}: ${JSON.stringify(res.body)}`);
      }
      // A requester who cannot even see the request learns nothing about it: it reads as missing.
      const erin = await h.call(await h.tokenFor("erin"), "POST", `/api/requests/${r.id}/approve`, {});
      assert.equal(erin.status, 404, JSON.stringify(erin.body));
      const now = await statusOf(r.id);
      assert.equal(now.status, "pending_approval");
      assert.deepEqual(now.approvals, []);
    });

    test("refuses a rejection without a reason with 400", async () => {
      const r = await createLegacyWrite("alice");
      for (const body of [{}, { reason: "" }, { reason: "   " }]) {
        const res = await h.call(await h.tokenFor("bob"), "POST", `/api/requests/${r.id}/reject`, body);
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.equal(errorOf(res).code, "request.invalid");
      }
      assert.equal((await statusOf(r.id)).status, "pending_approval");
    });

    test("refuses an approval after a rejection with 409 and keeps the request rejected", async () => {
      const r = await createLegacyWrite("alice");
      const rejected = await h.call(await h.tokenFor("bob"), "POST", `/api/requests/${r.id}/reject`, {
        reason: "needs a WHERE on tenant",
      });
      assert.equal(rejected.status, 200, JSON.stringify(rejected.body));
      assert.equal((rejected.body as RequestView).status, "rejected");
      const res = await h.call(await h.tokenFor("carol"), "POST", `/api/requests/${r.id}/approve`, {});
      assert.equal(res.status, 409, JSON.stringify(res.body));
      assert.match(errorOf(res).code, /^request\.(already_decided|invalid_transition)$/);
      const now = await statusOf(r.id);
      assert.equal(now.status, "rejected");
      assert.equal(now.status_reason, "needs a WHERE on tenant");
    });

    test("refuses a decision on a request that does not exist with 404", async () => {
      const res = await h.call(await h.tokenFor("bob"), "POST", "/api/requests/987654/approve", {});
      assert.equal(res.status, 404);
      assert.equal(errorOf(res).code, "request.not_found");
      const bad = await h.call(await h.tokenFor("bob"), "POST", "/api/requests/abc/approve", {});
      assert.equal(bad.status, 400);
    });
  });

  describe("reading and cancelling someone else's request", () => {
    test("answers a requester asking for another requester's request exactly as for a missing one", async () => {
      const r = await createLegacyWrite("alice");
      const erin = await h.tokenFor("erin");
      const theirs = await h.call(erin, "GET", `/api/requests/${r.id}`);
      const missing = await h.call(erin, "GET", "/api/requests/987654");
      assert.equal(theirs.status, 404);
      assert.equal(missing.status, 404);
      assert.deepEqual(
        { ...errorOf(theirs), message: errorOf(theirs).message.replace(String(r.id), "N") },
        { ...errorOf(missing), message: errorOf(missing).message.replace("987654", "N") },
      );
      const list = await h.call(erin, "GET", "/api/requests");
      assert.ok(!(list.body as RequestListView).requests.some((x) => x.id === r.id));
      const own = await h.call(await h.tokenFor("alice"), "GET", `/api/requests/${r.id}`);
      assert.equal(own.status, 200, "the requester herself can read it");
    });

    test("answers a requester asking for another requester's result exactly as for a missing request", async () => {
      const r = await createLegacyWrite("alice");
      const erin = await h.tokenFor("erin");
      const theirs = await h.call(erin, "GET", `/api/requests/${r.id}/result`);
      const missing = await h.call(erin, "GET", "/api/requests/987654/result");
      assert.equal(missing.status, 404);
      assert.equal(theirs.status, missing.status, "the result route must not confirm the request exists");
    });

    test("refuses a cancel by someone who is neither the requester nor an operator, and audits it", async () => {
      const r = await createLegacyWrite("alice");
      const head = await auditHead();
      const bob = await h.call(await h.tokenFor("bob"), "POST", `/api/requests/${r.id}/cancel`, {
        reason: "not mine",
      });
      assert.equal(bob.status, 403, JSON.stringify(bob.body));
      assert.equal(errorOf(bob).code, "auth.forbidden");
      // Erin cannot see Alice's request at all, so to her it does not exist.
      const erin = await h.call(await h.tokenFor("erin"), "POST", `/api/requests/${r.id}/cancel`, {
        reason: "not mine",
      });
      assert.equal(erin.status, 404, JSON.stringify(erin.body));
      const refusals = (await auditAfter(head)).filter((e) => e.action === "request.cancel_refused");
      assert.deepEqual(
        refusals.map((e) => [e.actor, e.outcome]),
        [["user:bob", "denied"]],
      );
      assert.equal((await statusOf(r.id)).status, "pending_approval");
      const own = await h.call(await h.tokenFor("alice"), "POST", `/api/requests/${r.id}/cancel`, {});
      assert.equal((own.body as RequestView).status, "cancelled", "the requester can cancel her own");
    });
  });

  describe("forged API token", () => {
    /** A raw call with exactly the Authorization header given (or none). */
    async function rawCall(
      path: string,
      authorization: string | undefined,
      method = "GET",
    ): Promise<{ status: number; body: unknown }> {
      const res = await fetch(`${h.url}${path}`, {
        method,
        headers: {
          ...(authorization !== undefined ? { authorization } : {}),
          ...(method === "POST" ? { "content-type": "application/json" } : {}),
        },
        ...(method === "POST" ? { body: JSON.stringify({ capabilities: [], wait_ms: 0 }) } : {}),
      });
      return { status: res.status, body: JSON.parse(await res.text()) as unknown };
    }
    const authFailures = async (head: number): Promise<AuditEventView[]> =>
      (await auditAfter(head)).filter((e) => e.action === "auth.failed");

    test("answers every malformed or unknown bearer value with the same 401 body, auditing each", async () => {
      const alice = await h.tokenFor("alice");
      const lastChar = alice.at(-1) === "A" ? "B" : "A";
      const values = [
        "",
        "Bearer",
        "Bearer ",
        "Bearer  ",
        `Bearer ${"a".repeat(600)}`,
        `Bearer ${"dbw_".padEnd(700, "A")}`,
        `Bearer dbw_${"é".repeat(43)}`,
        `Bearer dbw_${Buffer.from("ü".repeat(43), "utf8").toString("latin1")}`,
        "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJyb290Iiwicm9sZSI6ImFkbWluIn0.",
        "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJyb290In0",
        "Basic YWxpY2U6aHVudGVyMg==",
        "garbage",
        "Bearer a b",
        `Bearer ${alice} ${alice}`,
        `Token ${alice}`,
        `Bearer ${alice.slice(0, -1)}${lastChar}`,
        `Bearer dbw_${"A".repeat(43)}`,
        `Bearer ${h.agentTokens["agent-1"] ?? "missing"}`,
      ];
      const head = await auditHead();
      const bodies: unknown[] = [];
      for (const v of values) {
        const res = await rawCall("/api/requests", v);
        assert.equal(res.status, 401, `${JSON.stringify(v.slice(0, 40))}: ${JSON.stringify(res.body)}`);
        bodies.push(res.body);
      }
      for (const [i, b] of bodies.entries()) {
        assert.deepEqual(b, bodies[0], `${JSON.stringify(values[i]?.slice(0, 40))} gives the same body`);
      }
      assert.equal((bodies[0] as ErrorBody).error.code, "auth.invalid");
      const failures = await authFailures(head);
      assert.equal(failures.length, values.length, "one auth.failed event per refused call");
      for (const f of failures) assert.equal(f.outcome, "denied");
      const check = await rawCall("/api/requests", `Bearer ${alice}`);
      assert.equal(check.status, 200, "the real token still works");
    });

    test("refuses a call without any Authorization header with 401, and audits it", async () => {
      const head = await auditHead();
      const res = await rawCall("/api/requests", undefined);
      assert.equal(res.status, 401);
      assert.equal(errorOf(res).code, "auth.missing");
      assert.equal((await authFailures(head)).length, 1);
    });

    test("refuses an agent token on user routes and a user token on agent routes with 401", async () => {
      const head = await auditHead();
      const agent = h.agentTokens["agent-1"];
      assert.ok(agent !== undefined);
      const onUser = await rawCall("/api/requests", `Bearer ${agent}`);
      assert.equal(onUser.status, 401);
      const onAudit = await rawCall("/api/audit", `Bearer ${agent}`);
      assert.equal(onAudit.status, 401);
      for (const who of ["alice", "olga", "root"]) {
        const user = who === "root" ? h.adminToken : await h.tokenFor(who);
        const onAgent = await rawCall("/api/agent/poll", `Bearer ${user}`, "POST");
        assert.equal(onAgent.status, 401, who);
        assert.equal(errorOf(onAgent).code, "auth.invalid");
        const claim = await rawCall("/api/agent/jobs/1-1/claim", `Bearer ${user}`, "POST");
        assert.equal(claim.status, 401, who);
      }
      const failures = await authFailures(head);
      assert.equal(failures.length, 8);
      assert.deepEqual(
        failures.map((f) => f.details.kind),
        ["user", "user", "agent", "agent", "agent", "agent", "agent", "agent"],
      );
      const real = await rawCall("/api/agent/poll", `Bearer ${agent}`, "POST");
      assert.equal(real.status, 200, "the agent token works where it belongs");
    });

    test("refuses a token the moment it is revoked", async () => {
      const created = await h.call(h.adminToken, "POST", "/api/tokens", { user: "alice", name: "revoke me" });
      assert.equal(created.status, 201);
      const { id, token } = created.body as { id: string; token: string };
      assert.equal((await rawCall("/api/requests", `Bearer ${token}`)).status, 200);
      await h.bot.store
        .updateTable("api_tokens")
        .set({ revoked_at: new Date().toISOString() })
        .where("id", "=", id)
        .execute();
      assert.equal((await rawCall("/api/requests", `Bearer ${token}`)).status, 401);
    });

    test("refuses a token the moment it expires", async () => {
      const created = await h.call(h.adminToken, "POST", "/api/tokens", {
        user: "alice",
        name: "expire me",
        expires_in_days: 1,
      });
      assert.equal(created.status, 201);
      const { id, token, expires_at } = created.body as { id: string; token: string; expires_at: string };
      assert.ok(Date.parse(expires_at) > Date.now());
      assert.equal((await rawCall("/api/requests", `Bearer ${token}`)).status, 200);
      await h.bot.store
        .updateTable("api_tokens")
        .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
        .where("id", "=", id)
        .execute();
      assert.equal((await rawCall("/api/requests", `Bearer ${token}`)).status, 401);
    });

    test("refuses a suspended user even with a valid token, and audits it", async () => {
      const token = await h.tokenFor("frank");
      assert.equal((await rawCall("/api/requests", `Bearer ${token}`)).status, 200);
      await h.bot.store.updateTable("users").set({ status: "suspended" }).where("id", "=", "frank").execute();
      const head = await auditHead();
      const res = await rawCall("/api/requests", `Bearer ${token}`);
      assert.equal(res.status, 403);
      assert.equal(errorOf(res).code, "auth.suspended");
      const failures = await authFailures(head);
      assert.deepEqual(
        failures.map((f) => [f.actor, f.details.why]),
        [["user:frank", "suspended"]],
      );
    });

    test("refuses token creation for someone else by anyone but an admin", async () => {
      const res = await h.call(await h.tokenFor("olga"), "POST", "/api/tokens", {
        user: "alice",
        name: "mine",
      });
      assert.equal(res.status, 403);
      assert.equal(errorOf(res).code, "auth.forbidden");
    });
  });

  describe("public endpoints", () => {
    test("answers /health and /ready without a token", async () => {
      const health = await fetch(`${h.url}/health`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: "ok" });
      const ready = await fetch(`${h.url}/ready`);
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), { status: "ready" });
    });

    test("publishes the signing key's public half and key id, and nothing secret", async () => {
      const res = await fetch(`${h.url}/api/public-key`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as PublicKeysView;
      assert.equal(body.keys.length, 1);
      assert.deepEqual(body.retired, [], "a bot that never rotated has no retired keys");
      const [key] = body.keys;
      assert.ok(key !== undefined);
      assert.deepEqual(Object.keys(key).sort(), ["alg", "kid", "public_key"]);
      assert.equal(key.alg, "EdDSA");
      assert.equal(key.kid, h.bot.signingKey.kid);
      assert.equal(fromBase64url(key.public_key)?.length, 32);
      assert.equal(key.public_key, base64url(h.bot.signingKey.publicKey));
      assert.ok(parsePublicKey(key.kid, key.public_key) !== undefined, "an agent can pin it");
    });

    test("answers an unknown route with a 404 JSON error, with or without a token", async () => {
      for (const [method, path] of [
        ["GET", "/nope"],
        ["POST", "/api/nope"],
        ["DELETE", "/api/requests/1"],
      ] as const) {
        const res = await fetch(`${h.url}${path}`, { method });
        assert.equal(res.status, 404, `${method} ${path}`);
        assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
        const body = (await res.json()) as ErrorBody;
        assert.equal(body.error.code, "request.not_found");
      }
      const withToken = await h.call(await h.tokenFor("alice"), "GET", "/api/nope");
      assert.equal(withToken.status, 404);
    });

    test("sends headers that keep browsers and caches away from API answers", async () => {
      const res = await fetch(`${h.url}/health`);
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
      assert.equal(res.headers.get("cache-control"), "no-store");
      assert.equal(res.headers.get("x-powered-by"), null);
    });
  });
});
