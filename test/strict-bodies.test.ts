/**
 * Every JSON body the HTTP API takes refuses fields it does not know (docs/api.md): a misspelt
 * field is 400 `request.invalid` naming it, never silently dropped. One call per route family,
 * over real HTTP against a real bot; each is checked to change nothing.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { ErrorBody, PollResponse, RequestView } from "@dbward/shared";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";

function assertRefusedNaming(res: { status: number; body: unknown }, field: string): void {
  assert.equal(res.status, 400, JSON.stringify(res.body));
  const { error } = res.body as ErrorBody;
  assert.equal(error.code, "request.invalid");
  assert.match(error.message, new RegExp(`unknown field ${field.replace(/[[\].]/g, "\\$&")}`));
  assert.equal(error.details?.unknown_field, field);
}

describe("unknown body fields are refused", () => {
  let h: BotHarness;
  let alice: string;
  let pending: RequestView;
  before(async () => {
    h = await startBotHarness();
    alice = await h.tokenFor("alice");
    const res = await h.call(alice, "POST", "/api/requests", {
      database: "shop",
      environment: "staging",
      sql: "UPDATE t SET a = 1 WHERE id = 1",
      reason: "a pending write",
    });
    assert.equal(res.status, 201);
    pending = res.body as RequestView;
  });
  after(async () => h.stop());

  test("request creation: a misspelt break_glass is refused, and nothing is created", async () => {
    const before = await h.call(alice, "GET", "/api/requests?mine=true");
    const res = await h.call(alice, "POST", "/api/requests", {
      database: "shop",
      environment: "staging",
      sql: "SELECT 1",
      reason: "check",
      break_glas: true,
    });
    assertRefusedNaming(res, "break_glas");
    assert.match((res.body as ErrorBody).error.message, /break_glass, break_glass_reason/);
    const after = await h.call(alice, "GET", "/api/requests?mine=true");
    assert.deepEqual(after.body, before.body);
  });

  test("a body that is not a JSON object is refused", async () => {
    const res = await h.call(alice, "POST", "/api/requests", "[1, 2]");
    assert.equal(res.status, 400);
    assert.equal((res.body as ErrorBody).error.code, "request.invalid");
  });

  test("request decisions and preflight: approve, reject, cancel, retry and preflight name the field", async () => {
    const bob = await h.tokenFor("bob");
    assertRefusedNaming(
      await h.call(bob, "POST", `/api/requests/${pending.id}/approve`, { comennt: "ok" }),
      "comennt",
    );
    assertRefusedNaming(
      await h.call(bob, "POST", `/api/requests/${pending.id}/reject`, { reason: "no", why: "x" }),
      "why",
    );
    assertRefusedNaming(
      await h.call(alice, "POST", `/api/requests/${pending.id}/cancel`, { reasn: "x" }),
      "reasn",
    );
    assertRefusedNaming(
      await h.call(h.adminToken, "POST", `/api/requests/${pending.id}/retry`, { reason: "x", force: true }),
      "force",
    );
    assertRefusedNaming(
      await h.call(alice, "POST", "/api/preflight", {
        database: "shop",
        environment: "staging",
        sql: "SELECT 1",
        reason: "x",
      }),
      "reason",
    );
    const still = await h.call(alice, "GET", `/api/requests/${pending.id}`);
    assert.equal((still.body as RequestView).status, "pending_approval");
  });

  test("tokens: an unknown field in POST /api/tokens is refused", async () => {
    assertRefusedNaming(
      await h.call(alice, "POST", "/api/tokens", { name: "ci", expires_in: 3 }),
      "expires_in",
    );
  });

  test("users and join requests: create, update, suspend and join decisions name the field", async () => {
    assertRefusedNaming(
      await h.call(h.adminToken, "POST", "/api/users", { id: "zed", name: "Zed", roles: [], role: "x" }),
      "role",
    );
    assertRefusedNaming(await h.call(h.adminToken, "PATCH", "/api/users/alice", { nmae: "A" }), "nmae");
    assertRefusedNaming(
      await h.call(h.adminToken, "POST", "/api/users/alice/suspend", { reason: "x", notify: true }),
      "notify",
    );
    assertRefusedNaming(
      await h.call(h.adminToken, "POST", "/api/join-requests/jr_1/approve", { userid: "x" }),
      "userid",
    );
    const me = await h.call(alice, "GET", "/api/me");
    assert.equal(me.status, 200, "alice is not suspended");
  });

  test("agent bodies: poll (nested in a capability), claim, heartbeat and result name the field", async () => {
    const agent = h.agentTokens["agent-1"] ?? "";
    const cap = { database: "shop", environment: "staging", operations: ["read"] };
    assertRefusedNaming(
      await h.call(agent, "POST", "/api/agent/poll", {
        capabilities: [cap, { ...cap, url: "postgres://x" }],
        wait_ms: 0,
      }),
      "capabilities[1].url",
    );
    assertRefusedNaming(
      await h.call(agent, "POST", "/api/agent/poll", { capabilities: [cap], wait_ms: 0, waitms: 5 }),
      "waitms",
    );
    assertRefusedNaming(await h.call(agent, "POST", "/api/agent/jobs/x/claim", { force: 1 }), "force");
    assertRefusedNaming(await h.call(agent, "POST", "/api/agent/jobs/x/heartbeat", { extra: 1 }), "extra");
    // A result needs a job the agent holds before its body is read: take one.
    const read = await h.call(alice, "POST", "/api/requests", {
      database: "shop",
      environment: "staging",
      sql: "SELECT 42",
      reason: "a read to run",
    });
    assert.equal((read.body as RequestView).status, "dispatched");
    const poll = await h.call(agent, "POST", "/api/agent/poll", { capabilities: [cap], wait_ms: 0 });
    const job = (poll.body as PollResponse).jobs[0]?.job_id ?? "";
    assert.equal((await h.call(agent, "POST", `/api/agent/jobs/${job}/claim`, {})).status, 200);
    assertRefusedNaming(
      await h.call(agent, "POST", `/api/agent/jobs/${job}/result`, {
        outcome: "succeeded",
        duration_ms: 1,
        result: { columns: ["a"], rows: [[42]], row_count: 1, truncated: false, extra: true },
      }),
      "result.extra",
    );
    const ok = await h.call(agent, "POST", `/api/agent/jobs/${job}/result`, {
      outcome: "succeeded",
      duration_ms: 1,
      result: { columns: ["a"], rows: [[42]], row_count: 1, truncated: false },
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  });
});
