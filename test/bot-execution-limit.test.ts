/**
 * The execution policy's `max_executions` budget, over real HTTP against a real bot: a claim over
 * the budget is refused with its own code, the request leaves the dispatch queue as failed with
 * the reason, and the requester hears about it.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { AuditListView, ErrorBody, PollResponse, RequestView } from "@dbward/shared";
import type { StartBotOptions } from "@dbward/bot";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";

const CONFIG = `
databases:
  - name: shop
    dialect: postgres
    environments: [production]
workflows:
  - name: reads-auto
    operations: [read]
    auto_approve: always
execution_policies:
  - { database: shop, environment: production, max_executions: { count: 1, window_minutes: 60 } }
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: root, name: Root, roles: [admin] }
agents:
  - id: agent-1
`;

const CAPS = [{ database: "shop", environment: "production", operations: ["read"] }];

describe("max_executions", () => {
  let h: BotHarness;
  const changes: Parameters<NonNullable<StartBotOptions["onChange"]>>[0][] = [];
  before(async () => {
    h = await startBotHarness(CONFIG, { onChange: (c) => changes.push(c) });
  });
  after(async () => h.stop());

  async function create(sql: string): Promise<RequestView> {
    const res = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
      database: "shop",
      environment: "production",
      sql,
      reason: "budget test",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as RequestView;
  }
  async function offers(): Promise<PollResponse["jobs"]> {
    const res = await h.call(h.agentTokens["agent-1"] ?? "", "POST", "/api/agent/poll", {
      capabilities: CAPS,
      wait_ms: 0,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body as PollResponse).jobs;
  }
  const claim = async (jobId: string): Promise<{ status: number; body: unknown }> =>
    h.call(h.agentTokens["agent-1"] ?? "", "POST", `/api/agent/jobs/${jobId}/claim`, {});

  test("a claim over the budget is refused with execution.limit_reached and the request fails with the reason", async () => {
    const first = await create("SELECT 1 AS one");
    const firstJob = (await offers()).find((j) => j.request_id === first.id);
    assert.ok(firstJob !== undefined);
    assert.equal((await claim(firstJob.job_id)).status, 200);

    const second = await create("SELECT 2 AS two");
    const job = (await offers()).find((j) => j.request_id === second.id);
    assert.ok(job !== undefined, "the second request is offered");
    const refused = await claim(job.job_id);
    assert.equal(refused.status, 409);
    assert.equal((refused.body as ErrorBody).error.code, "execution.limit_reached");

    const shown = (await h.call(await h.tokenFor("alice"), "GET", `/api/requests/${second.id}`, undefined))
      .body as RequestView;
    assert.equal(shown.status, "failed");
    assert.match(
      shown.status_reason ?? "",
      /execution limit reached: shop\/production allows 1 executions per 60 minutes/,
    );
    assert.deepEqual(shown.executions, [], "nothing ran");

    assert.ok(
      !(await offers()).some((j) => j.request_id === second.id),
      "the refused request is not offered again",
    );
    assert.ok(
      changes.some((c) => c.requestId === second.id && c.action === "request.finished"),
      "the requester's notification path hears that it finished",
    );
    const audit = (await h.call(h.adminToken, "GET", `/api/audit?after=0&limit=1000`, undefined))
      .body as AuditListView;
    const failed = audit.events.filter(
      (e) => e.target === `request:${second.id}` && e.action === "request.failed",
    );
    assert.equal(failed.length, 1);
    assert.equal(failed[0]?.details.code, "execution.limit_reached");
    assert.equal(failed[0]?.outcome, "failure");
  });
});
