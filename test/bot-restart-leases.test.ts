/**
 * A bot that was down heard no heartbeats, so a lease that ran out meanwhile is not the agent's
 * silence: after a restart, running executions get one lease margin to heartbeat or report before
 * they are declared lost. An agent that stays silent past that is lost as before.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { AgentCapability, ClaimResponse, PollResponse, RequestView } from "@dbward/shared";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";

const MARGIN_MS = 1500;
const CONFIG = `
databases: [{ name: shop, dialect: postgres, environments: [production] }]
workflows: [{ name: reads-auto, operations: [read], auto_approve: always }]
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: olga, name: Olga, roles: [operator] }
  - { id: root, name: Root, roles: [admin] }
agents: [{ id: agent-1 }]
execution: { lease_margin_ms: ${MARGIN_MS} }
`;
const CAPS: AgentCapability[] = [{ database: "shop", environment: "production", operations: ["read"] }];
const token = (prefix: string): string => `${prefix}${randomBytes(32).toString("base64url")}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("running executions across a bot restart", () => {
  const dir = mkdtempSync(join(tmpdir(), "dbward-restart-leases-"));
  const env = { DBWARD_ADMIN_TOKEN: token("dbw_"), DBWARD_AGENT_TOKEN_AGENT_1: token("dbwa_") };
  const start = (): Promise<BotHarness> =>
    startBotHarness(CONFIG, { dataDir: dir, env, sweepIntervalMs: 50 });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function claimOne(h: BotHarness, sql: string): Promise<{ id: number; claim: ClaimResponse }> {
    const created = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
      database: "shop",
      environment: "production",
      sql,
      reason: "restart test",
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = (created.body as RequestView).id;
    const agent = env.DBWARD_AGENT_TOKEN_AGENT_1;
    const polled = (await h.call(agent, "POST", "/api/agent/poll", { capabilities: CAPS, wait_ms: 0 }))
      .body as PollResponse;
    const job = polled.jobs.find((j) => j.request_id === id);
    assert.ok(job !== undefined, "offered");
    const claimed = await h.call(agent, "POST", `/api/agent/jobs/${job.job_id}/claim`, {});
    assert.equal(claimed.status, 200, JSON.stringify(claimed.body));
    return { id, claim: claimed.body as ClaimResponse };
  }

  const statusOf = async (h: BotHarness, id: number): Promise<string> =>
    ((await h.call(await h.tokenFor("olga"), "GET", `/api/requests/${id}`)).body as RequestView).status;

  test("an agent that heartbeats after the restart keeps its job; one that stays silent loses it", async () => {
    const first = await start();
    const kept = await claimOne(first, "SELECT 1 AS kept");
    const silent = await claimOne(first, "SELECT 2 AS silent");
    await first.stop();
    await sleep(MARGIN_MS + 500);

    const second = await start();
    try {
      await sleep(200);
      assert.equal(await statusOf(second, kept.id), "running", "not lost for the bot's own downtime");
      const agent = env.DBWARD_AGENT_TOKEN_AGENT_1;
      const beat = await second.call(agent, "POST", `/api/agent/jobs/${kept.claim.job_id}/heartbeat`, {});
      assert.equal(beat.status, 200, JSON.stringify(beat.body));
      const result = await second.call(agent, "POST", `/api/agent/jobs/${kept.claim.job_id}/result`, {
        outcome: "succeeded",
        duration_ms: 5,
        result: { columns: ["kept"], rows: [[1]], row_count: 1, truncated: false },
      });
      assert.equal(result.status, 200, JSON.stringify(result.body));
      assert.equal(await statusOf(second, kept.id), "succeeded");

      const deadline = Date.now() + 15_000;
      while ((await statusOf(second, silent.id)) === "running") {
        assert.ok(Date.now() < deadline, "the silent agent's job is lost once the margin has passed");
        await sleep(50);
      }
      assert.equal(await statusOf(second, silent.id), "lost");
    } finally {
      await second.stop();
    }
  });
});
