/**
 * One agent id, one live process, on every call (issue 12): the session an agent's data directory
 * names is checked on claim, heartbeat and result as on poll. A second process with the same
 * agent id and another data directory (another session) cannot claim a job, keep one alive or
 * report one while the first session is live: each call is 409 `agent.session_conflict`, and the
 * job stays the first process's. Both processes talk through the agent's own bot client.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BotError, createBotClient, Secret, type BotClient } from "@dbward/agent";
import type { RequestView } from "@dbward/shared";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";

const CAPABILITIES = [{ database: "shop", environment: "staging", operations: ["read" as const] }];

async function refusedForSession(call: Promise<unknown>): Promise<void> {
  await assert.rejects(call, (err: unknown) => {
    assert.ok(err instanceof BotError, String(err));
    assert.equal(err.status, 409);
    assert.equal(err.code, "agent.session_conflict");
    return true;
  });
}

describe("the agent session is checked on every call, not only on poll", () => {
  let h: BotHarness;
  let first: BotClient;
  let second: BotClient;
  let jobId: string;
  let requestId: number;
  const client = (session: string): BotClient =>
    createBotClient({ botUrl: h.url, agentToken: new Secret(h.agentTokens["agent-1"] ?? ""), session });
  const status = async (): Promise<string> => {
    const olga = await h.tokenFor("olga");
    return ((await h.call(olga, "GET", `/api/requests/${requestId}`, undefined)).body as RequestView).status;
  };

  before(async () => {
    h = await startBotHarness();
    first = client("first-data-directory-session");
    second = client("second-data-directory-session");
    const alice = await h.tokenFor("alice");
    const created = await h.call(alice, "POST", "/api/requests", {
      database: "shop",
      environment: "staging",
      sql: "SELECT 1 AS one",
      reason: "session test",
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    requestId = (created.body as RequestView).id;
    const { jobs } = await first.poll({ capabilities: CAPABILITIES, wait_ms: 5000 });
    const offer = jobs.find((j) => j.request_id === requestId);
    assert.ok(offer !== undefined, "the first process is offered the job");
    jobId = offer.job_id;
  });
  after(() => h.stop());

  test("a second session cannot claim a job while the first is live", async () => {
    await refusedForSession(second.claim(jobId));
    assert.equal(await status(), "dispatched", "the refused claim changed nothing");
  });

  test("a second session cannot heartbeat the job the first holds", async () => {
    const claim = await first.claim(jobId);
    assert.equal(claim.job_id, jobId);
    await refusedForSession(second.heartbeat(jobId));
    assert.equal((await first.heartbeat(jobId)).cancel, false, "the holder's heartbeat still goes through");
  });

  test("a second session cannot send result chunks for the job the first holds", async () => {
    await refusedForSession(second.submitChunk(jobId, 0, Buffer.from("[1]\n")));
    assert.equal(await status(), "running");
  });

  test("a second session cannot submit a result, nor a late one, for the job the first holds", async () => {
    await refusedForSession(
      second.submitResult(jobId, {
        outcome: "failed",
        duration_ms: 1,
        error: { code: "x", message: "forged" },
      }),
    );
    await refusedForSession(
      second.submitResult(jobId, {
        delivery: "late",
        outcome: "unknown",
        started_at: new Date().toISOString(),
      }),
    );
    assert.equal(await status(), "running", "the job is still the first process's");
    await first.submitResult(jobId, {
      outcome: "succeeded",
      duration_ms: 3,
      result: { columns: ["one"], rows: [[1]], row_count: 1, truncated: false },
    });
    assert.equal(await status(), "succeeded");
  });

  test("the refused session did not take the agent id over: it still cannot poll", async () => {
    await refusedForSession(second.poll({ capabilities: CAPABILITIES, wait_ms: 0 }));
  });
});
