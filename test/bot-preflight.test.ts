/**
 * Preflights as the bot keeps them, driven over HTTP the way an agent talks to it: a read or a
 * write waiting for approval gets an EXPLAIN to make (never a DDL, never a SQLite database), is
 * offered only to an agent that says it makes plans and may run the statement's class there,
 * claimed once with a token signed for `explain` alone, and reported once by that agent; the bot
 * summarises the raw plan itself, keeps failures, and fails a claim whose agent went quiet.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  fromBase64url,
  summarizePlan,
  type ErrorBody,
  type PollResponse,
  type PreflightClaimResponse,
  type RequestView,
} from "@dbward/shared";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";

const CONFIG = `
databases:
  - name: shop
    dialect: postgres
    environments: [production]
  - name: legacy
    dialect: mysql
    environments: [production]
    explain: false
  - name: demo
    dialect: sqlite
    environments: [local]
workflows:
  - name: everything-approved
    steps:
      - approvers: ["role:approver"]
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: carol, name: Carol, roles: [approver] }
  - { id: root, name: Root, roles: [admin] }
agents:
  - id: agent-1
  - id: agent-2
execution:
  lease_margin_ms: 1000
  statement_timeout_ms: 1000
`;

const ALL = ["read", "write", "ddl"];
const CAPS = [
  { database: "shop", environment: "production", operations: ALL },
  { database: "legacy", environment: "production", operations: ALL },
  { database: "demo", environment: "local", operations: ALL },
];
const PLAN = JSON.parse(
  readFileSync(join(import.meta.dirname, "fixtures/plans/postgres-update.json"), "utf8"),
) as unknown;
const MINUTE = 60_000;

describe("preflights in the bot", () => {
  let h: BotHarness;
  let now = new Date();
  let n = 0;
  before(async () => {
    h = await startBotHarness(CONFIG, { sweepIntervalMs: 50, clock: { now: () => now } });
  });
  after(async () => h.stop());

  const agent = (id = "agent-1") => h.agentTokens[id] ?? "";
  async function create(database: string, environment: string, sql: string): Promise<RequestView> {
    const res = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
      database,
      environment,
      sql: `${sql} /* ${++n} */`,
      reason: "preflight test",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as RequestView;
  }
  async function view(id: number): Promise<RequestView> {
    return (await h.call(await h.tokenFor("carol"), "GET", `/api/requests/${id}`)).body as RequestView;
  }
  async function offers(body: Record<string, unknown>, id = "agent-1") {
    const res = await h.call(agent(id), "POST", "/api/agent/poll", {
      capabilities: CAPS,
      wait_ms: 0,
      ...body,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body as PollResponse).preflights ?? [];
  }
  async function claim(requestId: number, id = "agent-1"): Promise<PreflightClaimResponse> {
    const offer = (await offers({ preflights: ["explain"] }, id)).find((o) => o.request_id === requestId);
    assert.ok(offer !== undefined, `request ${requestId} has a preflight on offer`);
    const res = await h.call(agent(id), "POST", `/api/agent/preflights/${offer.preflight_id}/claim`, {});
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as PreflightClaimResponse;
  }
  const report = (preflightId: string, body: unknown, id = "agent-1") =>
    h.call(agent(id), "POST", `/api/agent/preflights/${preflightId}/result`, body);
  const claimsOf = (token: string): Record<string, unknown> =>
    JSON.parse(new TextDecoder().decode(fromBase64url(token.split(".")[1] ?? ""))) as Record<string, unknown>;

  test("a pending read or write gets a plan to make; a DDL, a SQLite database or explain: false get none", async () => {
    const write = await create("shop", "production", "UPDATE orders SET state = 'x' WHERE id > 0");
    assert.deepEqual(
      write.preflights.map((p) => [p.kind, p.status]),
      [["explain", "pending"]],
    );
    const read = await create("shop", "production", "SELECT id FROM orders");
    assert.equal(read.preflights.length, 1);
    for (const r of [
      await create("shop", "production", "CREATE INDEX orders_state ON orders (state)"),
      await create("demo", "local", "UPDATE items SET name = 'x' WHERE id = 1"),
      await create("legacy", "production", "UPDATE t SET a = 1 WHERE id = 9"),
    ])
      assert.deepEqual(r.preflights, [], `${r.database}: ${r.sql}`);
  });

  test("is offered only to an agent that makes plans and may run the statement's class there", async () => {
    const write = await create("shop", "production", "DELETE FROM orders WHERE id = 3");
    assert.ok(!(await offers({})).some((o) => o.request_id === write.id), "an older agent is offered none");
    const readOnly = [{ database: "shop", environment: "production", operations: ["read"] }];
    const res = await h.call(agent(), "POST", "/api/agent/poll", {
      capabilities: readOnly,
      wait_ms: 0,
      preflights: ["explain", "telepathy"],
    });
    assert.ok(!((res.body as PollResponse).preflights ?? []).some((o) => o.request_id === write.id));
    const offered = (await offers({ preflights: ["explain"] })).find((o) => o.request_id === write.id);
    assert.deepEqual(offered, {
      preflight_id: `${write.id}-explain`,
      request_id: write.id,
      kind: "explain",
      database: "shop",
      environment: "production",
      operation: "write",
    });
  });

  test("one claim wins, with a token for explain alone; the plan comes back summarised by the bot", async () => {
    const write = await create("shop", "production", "UPDATE orders SET state = 'y' WHERE id > 0");
    const claimed = await claim(write.id);
    assert.equal(claimed.sql, write.sql);
    const claims = claimsOf(claimed.token);
    assert.equal(claims.purpose, "explain");
    assert.equal(claims.max_rows, null);
    assert.equal(claims.exe, 0);
    await offers({ preflights: ["explain"] }, "agent-2"); // declares the same capabilities
    const second = await h.call(
      agent("agent-2"),
      "POST",
      `/api/agent/preflights/${claimed.preflight_id}/claim`,
      {},
    );
    assert.equal(second.status, 409, JSON.stringify(second.body));
    assert.equal((await view(write.id)).preflights[0]?.status, "running");

    const byOther = await report(
      claimed.preflight_id,
      { outcome: "succeeded", duration_ms: 3, engine: "postgres", plan: PLAN },
      "agent-2",
    );
    assert.equal(byOther.status, 409, JSON.stringify(byOther.body));
    assert.equal((byOther.body as ErrorBody).error.code, "job.lease_lost");

    const done = await report(claimed.preflight_id, {
      outcome: "succeeded",
      duration_ms: 3,
      engine: "postgres",
      plan: PLAN,
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    const seen = (await view(write.id)).preflights[0];
    assert.equal(seen?.status, "succeeded");
    assert.equal(seen?.agent, "agent-1");
    assert.deepEqual(seen?.summary, summarizePlan("postgres", PLAN));
    assert.ok((seen?.summary?.sequential_scans.length ?? 0) > 0, "the fixture's full scan is named");
    const plan = await h.call(await h.tokenFor("alice"), "GET", `/api/requests/${write.id}/plan`);
    assert.equal(plan.status, 200, JSON.stringify(plan.body));
    assert.deepEqual((plan.body as { plan: unknown }).plan, PLAN);
    const again = await report(claimed.preflight_id, {
      outcome: "failed",
      duration_ms: 1,
      error: { code: "x", message: "late" },
    });
    assert.equal(again.status, 409, "reported once");
  });

  test("a failure to plan is kept and shown; a malformed report is refused and changes nothing", async () => {
    const write = await create("shop", "production", "UPDATE orders SET state = 'z' WHERE id > 0");
    const claimed = await claim(write.id);
    for (const bad of [
      { outcome: "succeeded", duration_ms: 1, engine: "postgres" },
      { outcome: "succeeded", duration_ms: -1, engine: "postgres", plan: PLAN },
      { outcome: "maybe", duration_ms: 1 },
      { outcome: "failed", duration_ms: 1 },
      { outcome: "failed", duration_ms: 1, error: { code: "x", message: "y" }, extra: true },
    ]) {
      const res = await report(claimed.preflight_id, bad);
      assert.equal(res.status, 400, `${JSON.stringify(bad)} → ${JSON.stringify(res.body)}`);
    }
    assert.equal((await view(write.id)).preflights[0]?.status, "running");
    const res = await report(claimed.preflight_id, {
      outcome: "failed",
      duration_ms: 4,
      error: { code: "execution.failed", message: 'relation "orders" does not exist' },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const seen = (await view(write.id)).preflights[0];
    assert.equal(seen?.status, "failed");
    assert.deepEqual(seen?.error, { code: "execution.failed", message: 'relation "orders" does not exist' });
    const plan = await h.call(await h.tokenFor("alice"), "GET", `/api/requests/${write.id}/plan`);
    assert.equal(plan.status, 404);
    assert.equal((plan.body as ErrorBody).error.code, "preflight.not_found");
    assert.match((plan.body as ErrorBody).error.message, /planning failed: relation "orders" does not exist/);
  });

  test("a plan in another engine's format is recorded as a failure, not shown as a plan", async () => {
    const write = await create("shop", "production", "UPDATE orders SET state = 'w' WHERE id > 0");
    const claimed = await claim(write.id);
    await report(claimed.preflight_id, {
      outcome: "succeeded",
      duration_ms: 1,
      engine: "mysql",
      plan: { query_block: {} },
    });
    const seen = (await view(write.id)).preflights[0];
    assert.equal(seen?.status, "failed");
    assert.match(seen?.error?.message ?? "", /mysql's format, not postgres's/);
    assert.equal(seen?.summary, null);
  });

  test("once decided, a request's plan is no longer offered or claimable", async () => {
    const write = await create("shop", "production", "UPDATE orders SET state = 'v' WHERE id > 0");
    const approved = await h.call(await h.tokenFor("carol"), "POST", `/api/requests/${write.id}/approve`, {});
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    assert.ok(!(await offers({ preflights: ["explain"] })).some((o) => o.request_id === write.id));
    const res = await h.call(agent(), "POST", `/api/agent/preflights/${write.id}-explain/claim`, {});
    assert.equal(res.status, 409, JSON.stringify(res.body));
  });

  test("a claimed preflight whose agent goes quiet fails as lost, audited", async () => {
    const write = await create("shop", "production", "UPDATE orders SET state = 'u' WHERE id > 0");
    await claim(write.id);
    now = new Date(now.getTime() + 2 * MINUTE);
    const deadline = Date.now() + 10_000;
    let seen = (await view(write.id)).preflights[0];
    while (seen?.status === "running" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      seen = (await view(write.id)).preflights[0];
    }
    assert.equal(seen?.status, "failed");
    assert.equal(seen?.error?.code, "preflight.lost");
    const audit = await h.call(h.adminToken, "GET", `/api/audit?target=request:${write.id}&limit=100`);
    const actions = (audit.body as { events: { action: string }[] }).events.map((e) => e.action);
    assert.ok(actions.includes("request.preflight_claimed"));
    assert.ok(actions.includes("request.preflight_finished"));
  });

  test("refuses a plan body over its limit before reading it, and any body from an agent not running it", async () => {
    const write = await create("shop", "production", "UPDATE orders SET state = 't' WHERE id > 0");
    const claimed = await claim(write.id);
    const huge = JSON.stringify({
      outcome: "succeeded",
      duration_ms: 1,
      engine: "postgres",
      plan: "x".repeat(3 * 1024 * 1024),
    });
    const res = await report(claimed.preflight_id, huge);
    assert.equal(res.status, 413, JSON.stringify(res.body));
    const stranger = await report(
      claimed.preflight_id,
      { outcome: "failed", duration_ms: 1, error: { code: "x", message: "y" } },
      "agent-2",
    );
    assert.equal(stranger.status, 409);
    assert.equal((await view(write.id)).preflights[0]?.status, "running");
  });

  test("a claim or a report of a preflight that does not exist is 404 job.not_found", async () => {
    await offers({ preflights: ["explain"] });
    for (const id of ["999999-explain", "not-an-id", "1-dry_run"]) {
      const claimed = await h.call(agent(), "POST", `/api/agent/preflights/${id}/claim`, {});
      assert.equal(claimed.status, 404, `${id}: ${JSON.stringify(claimed.body)}`);
      assert.equal((claimed.body as ErrorBody).error.code, "job.not_found");
      const reported = await report(id, {
        outcome: "failed",
        duration_ms: 1,
        error: { code: "x", message: "y" },
      });
      assert.equal(reported.status, 404, `${id}: ${JSON.stringify(reported.body)}`);
      assert.equal((reported.body as ErrorBody).error.code, "job.not_found");
    }
  });

  test("results retention deletes a whole plan and keeps its summary, audited", async () => {
    const write = await create("shop", "production", "UPDATE orders SET state = 's' WHERE id > 0");
    const claimed = await claim(write.id);
    const done = await report(claimed.preflight_id, {
      outcome: "succeeded",
      duration_ms: 1,
      engine: "postgres",
      plan: PLAN,
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    const planOf = async () => h.call(await h.tokenFor("alice"), "GET", `/api/requests/${write.id}/plan`);
    assert.equal((await planOf()).status, 200);
    now = new Date(now.getTime() + 169 * 3_600_000); // past the default 168 h
    const deadline = Date.now() + 10_000;
    let res = await planOf();
    while (res.status === 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      res = await planOf();
    }
    assert.equal(res.status, 404, JSON.stringify(res.body));
    assert.match((res.body as ErrorBody).error.message, /deleted by results retention/);
    assert.deepEqual((await view(write.id)).preflights[0]?.summary, summarizePlan("postgres", PLAN));
    const audit = await h.call(h.adminToken, "GET", "/api/audit?target=preflights&limit=10");
    const events = (audit.body as { events: { action: string; details: { plans?: number } }[] }).events;
    assert.ok(events.some((e) => e.action === "preflight.plans_purged" && (e.details.plans ?? 0) >= 1));
  });
});
