/**
 * Watching the bot: `/metrics` (who may read it, and that the numbers move with real work),
 * `/ready` (store unreachable, migrations pending) and `/api/agents`, over real HTTP against a
 * real bot on a temp SQLite file; the agent side is spoken over HTTP with a real agent token.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import type { ClaimResponse, ErrorBody, PollResponse, RequestView } from "@dbward/shared";
import { TEST_CONFIG, startBotHarness, type BotHarness } from "./support/bot-harness.ts";

const METRICS_TOKEN = "m".repeat(20) + "0123456789abcdef";
const CAPABILITIES = [{ database: "shop", environment: "staging", operations: ["read", "write"] }];

async function get(h: BotHarness, path: string, token?: string): Promise<Response> {
  return fetch(
    `${h.url}${path}`,
    token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } },
  );
}

/** The value of one sample line of the text exposition format, or undefined when absent. */
function sample(text: string, name: string, labels = ""): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name}${labels === "" ? "" : `{${labels}}`} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe("GET /metrics", () => {
  let h: BotHarness;
  const metrics = async (): Promise<string> => {
    const res = await get(h, "/metrics", METRICS_TOKEN);
    assert.equal(res.status, 200);
    return res.text();
  };
  before(async () => {
    h = await startBotHarness(TEST_CONFIG, { env: { DBWARD_METRICS_TOKEN: METRICS_TOKEN } });
  });
  after(async () => h.stop());

  test("refuses a caller without a token, with a wrong token, and a requester", async () => {
    const none = await get(h, "/metrics");
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as ErrorBody).error.code, "auth.missing");
    const wrong = await get(h, "/metrics", `${METRICS_TOKEN}x`);
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as ErrorBody).error.code, "auth.invalid");
    const requester = await get(h, "/metrics", await h.tokenFor("alice"));
    assert.equal(requester.status, 403);
    assert.equal(((await requester.json()) as ErrorBody).error.code, "auth.forbidden");
  });

  test("answers the monitoring token, operators and admins in the Prometheus text format", async () => {
    const res = await get(h, "/metrics", METRICS_TOKEN);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain;.*version=0\.0\.4/);
    assert.match(await res.text(), /^# HELP dbward_requests /m);
    assert.equal((await get(h, "/metrics", await h.tokenFor("olga"))).status, 200);
    assert.equal((await get(h, "/metrics", h.adminToken)).status, 200);
  });

  test("the numbers move with requests, approvals, agents and executions", async () => {
    const agent = h.agentTokens["agent-1"] ?? "";
    const first = await metrics();
    assert.equal(sample(first, "dbward_store_up"), 1);
    assert.equal(sample(first, "dbward_agents", 'status="never_seen"'), 2);
    const auditBefore = sample(first, "dbward_audit_chain_length") ?? 0;
    assert.ok(auditBefore > 0, "the bootstrap left audit events");

    const created = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
      database: "shop",
      environment: "staging",
      sql: "UPDATE accounts SET flag = 1 WHERE id = 7",
      reason: "metrics",
    });
    assert.equal(created.status, 201);
    const id = (created.body as RequestView).id;
    const pending = await metrics();
    assert.equal(sample(pending, "dbward_requests", 'status="pending_approval"'), 1);
    assert.equal(sample(pending, "dbward_queue_depth"), 0);

    assert.equal(
      (await h.call(await h.tokenFor("bob"), "POST", `/api/requests/${id}/approve`, {})).status,
      200,
    );
    const approved = await metrics();
    assert.equal(sample(approved, "dbward_approval_decisions_total", 'decision="approved"'), 1);
    assert.equal(sample(approved, "dbward_requests", 'status="dispatched"'), 1);
    assert.equal(sample(approved, "dbward_queue_depth"), 1);

    const poll = await h.call(agent, "POST", "/api/agent/poll", { capabilities: CAPABILITIES, wait_ms: 0 });
    const job = (poll.body as PollResponse).jobs[0];
    assert.ok(job !== undefined);
    const claim = await h.call(agent, "POST", `/api/agent/jobs/${job.job_id}/claim`, {});
    assert.equal((claim.body as ClaimResponse).request_id, id);
    const result = await h.call(agent, "POST", `/api/agent/jobs/${job.job_id}/result`, {
      outcome: "succeeded",
      duration_ms: 2500,
      affected_rows: 1,
    });
    assert.equal(result.status, 200, JSON.stringify(result.body));

    const done = await metrics();
    assert.equal(sample(done, "dbward_agents_connected"), 1);
    assert.equal(sample(done, "dbward_agents", 'status="connected"'), 1);
    assert.equal(sample(done, "dbward_requests", 'status="succeeded"'), 1);
    assert.equal(sample(done, "dbward_executions", 'status="succeeded"'), 1);
    assert.equal(sample(done, "dbward_queue_depth"), 0);
    assert.equal(sample(done, "dbward_execution_duration_seconds_count", 'outcome="succeeded"'), 1);
    assert.equal(sample(done, "dbward_execution_duration_seconds_sum", 'outcome="succeeded"'), 2.5);
    assert.equal(sample(done, "dbward_execution_duration_seconds_bucket", 'le="1",outcome="succeeded"'), 0);
    assert.equal(sample(done, "dbward_execution_duration_seconds_bucket", 'le="5",outcome="succeeded"'), 1);
    assert.ok((sample(done, "dbward_audit_chain_length") ?? 0) > auditBefore);
    assert.equal(
      sample(done, "dbward_http_requests_total", 'method="POST",route="/api/requests",status="201"'),
      1,
    );
    assert.ok((sample(done, "dbward_auth_failures_total", 'code="auth.missing"') ?? 0) >= 1);
  });

  test("a bot alone on its store leads every periodic job", async () => {
    const text = await metrics();
    for (const job of ["sweeper", "webhooks", "audit_maintenance", "pruning"])
      assert.equal(sample(text, "dbward_leader", `job="${job}"`), 1, job);
  });

  test("every counter ends in _total and nothing else does, prom-client's defaults included", async () => {
    const families = [...(await metrics()).matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name, type]) => ({
      name: name ?? "",
      type: type ?? "",
    }));
    const names = families.map((f) => f.name);
    assert.ok(names.includes("nodejs_active_handles"), "the per-type default gauges stay");
    assert.ok(!names.includes("nodejs_active_handles_total"), "the _total gauge beside them is dropped");
    for (const { name, type } of families)
      assert.equal(name.endsWith("_total"), type === "counter", `${name} is a ${type}`);
  });

  test("docs/operations.md names every dbward_ metric the bot exposes", async () => {
    const doc = readFileSync(new URL("../docs/operations.md", import.meta.url), "utf8");
    const names = [...(await metrics()).matchAll(/^# TYPE (dbward_\S+) /gm)].map(([, name]) => name ?? "");
    assert.ok(names.length > 10, names.join(", "));
    for (const name of names) assert.ok(doc.includes(`\`${name}\``), `${name} is not in docs/operations.md`);
  });

  test("the counters other adapters feed are exposed from the start", async () => {
    h.bot.metrics.webhookFailures.inc({ reason: "timeout" });
    h.bot.metrics.slackApiErrors.inc({ method: "chat.postMessage", code: "ratelimited" });
    const text = await metrics();
    assert.equal(sample(text, "dbward_webhook_failures_total", 'reason="timeout"'), 1);
    assert.equal(
      sample(text, "dbward_slack_api_errors_total", 'method="chat.postMessage",code="ratelimited"'),
      1,
    );
  });
});

describe("GET /ready and GET /api/agents", () => {
  let h: BotHarness;
  before(async () => {
    h = await startBotHarness(TEST_CONFIG, { env: { DBWARD_METRICS_TOKEN: METRICS_TOKEN } });
  });
  after(async () => h.stop());

  test("/api/agents lists configured agents with their status, for the monitoring token and operators", async () => {
    await h.call(h.agentTokens["agent-1"] ?? "", "POST", "/api/agent/poll", {
      capabilities: CAPABILITIES,
      wait_ms: 0,
    });
    const res = await get(h, "/api/agents", METRICS_TOKEN);
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      agents: { id: string; status: string; last_seen_at: string | null }[];
    };
    assert.deepEqual(
      body.agents.map((a) => [a.id, a.status]),
      [
        ["agent-1", "connected"],
        ["agent-2", "never_seen"],
      ],
    );
    assert.ok(body.agents[0]?.last_seen_at !== null);
    assert.equal((await get(h, "/api/agents", await h.tokenFor("olga"))).status, 200);
  });

  test("/api/agents refuses anonymous callers and approvers", async () => {
    assert.equal((await get(h, "/api/agents")).status, 401);
    assert.equal((await get(h, "/api/agents", await h.tokenFor("bob"))).status, 403);
  });

  test("/ready answers 200 while the store is healthy and its schema current", async () => {
    const res = await get(h, "/ready");
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: "ready" });
  });

  test("/ready answers 503 while a migration is pending", async () => {
    const file = new Database(join(h.dataDir, "bot", "dbward.sqlite"));
    const saved = file.prepare("SELECT version, applied_at FROM schema_version").all();
    file.prepare("DELETE FROM schema_version").run();
    try {
      const res = await get(h, "/ready");
      assert.equal(res.status, 503);
      assert.equal(((await res.json()) as { reason: string }).reason, "migrations_pending");
    } finally {
      const put = file.prepare(
        "INSERT INTO schema_version (version, applied_at) VALUES (@version, @applied_at)",
      );
      for (const row of saved) put.run(row);
      file.close();
    }
    assert.equal((await get(h, "/ready")).status, 200);
  });

  test("/ready answers 503 once the store cannot be read, while /health still answers", async () => {
    const other = await startBotHarness();
    try {
      await other.bot.store.destroy();
      const res = await get(other, "/ready");
      assert.equal(res.status, 503);
      assert.deepEqual(await res.json(), {
        status: "not_ready",
        reason: "store_unreachable",
        message: "the state store cannot be read",
      });
      assert.equal((await get(other, "/health")).status, 200);
    } finally {
      await other.stop();
    }
  });

  test("a monitoring token shorter than 32 characters stops the bot at start", async () => {
    await assert.rejects(
      startBotHarness(TEST_CONFIG, { env: { DBWARD_METRICS_TOKEN: "short" } }),
      /DBWARD_METRICS_TOKEN must be at least 32/,
    );
  });
});
