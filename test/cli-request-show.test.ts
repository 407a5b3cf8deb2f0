/**
 * `dbward request show` says when a request's result was cut short, from the request view
 * (each execution's `result_truncated_by`), against a real bot whose results an agent (scripted
 * over the real agent API) delivered: truncated by the row cap, by the byte cap, or whole.
 * Looking at a request reads no result: nothing lands in the audit trail as a result read.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type {
  AgentCapability,
  ClaimResponse,
  PollResponse,
  RequestView,
  ResultTruncation,
} from "@dbward/shared";
import { EXIT } from "../cli/src/exit-codes.ts";
import { main } from "../cli/src/main.ts";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";
import { captureOutput } from "./support/capture-output.ts";

const CONFIG = `
databases: [{ name: shop, dialect: postgres, environments: [production] }]
workflows: [{ name: reads-auto, operations: [read], auto_approve: always }]
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: bob, name: Bob, roles: [approver] }
  - { id: root, name: Root, roles: [admin] }
agents: [{ id: agent-1 }]
execution: { row_cap: 2 }
`;
const CAPS: AgentCapability[] = [{ database: "shop", environment: "production", operations: ["read"] }];

describe("dbward request show: a truncated result", () => {
  let h: BotHarness;
  before(async () => {
    h = await startBotHarness(CONFIG);
  });
  after(() => h.stop());

  /** A read request of alice's, run by the agent, whose two rows came back as `truncatedBy` says. */
  async function ranRead(sql: string, truncatedBy: ResultTruncation | null): Promise<number> {
    const agent = h.agentTokens["agent-1"] ?? assert.fail("no agent token");
    const created = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
      database: "shop",
      environment: "production",
      sql,
      reason: "report",
    });
    const id = (created.body as RequestView).id;
    const poll = (await h.call(agent, "POST", "/api/agent/poll", { capabilities: CAPS, wait_ms: 0 }))
      .body as PollResponse;
    const offer = poll.jobs.find((j) => j.request_id === id) ?? assert.fail("not offered");
    const claim = (await h.call(agent, "POST", `/api/agent/jobs/${offer.job_id}/claim`, {}))
      .body as ClaimResponse;
    const chunk = await fetch(`${h.url}/api/agent/jobs/${claim.job_id}/result/chunks/0`, {
      method: "POST",
      headers: { authorization: `Bearer ${agent}`, "content-type": "application/x-ndjson" },
      body: "[1]\n[2]\n",
    });
    assert.equal(chunk.status, 200, await chunk.text());
    const done = await h.call(agent, "POST", `/api/agent/jobs/${claim.job_id}/result`, {
      outcome: "succeeded",
      duration_ms: 3,
      streamed: { columns: ["n"], chunks: 1, row_count: 2, bytes: 8, truncated_by: truncatedBy },
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    return id;
  }

  async function show(id: number, user: string, ...flags: string[]) {
    const out = captureOutput();
    const env = { DBWARD_URL: h.url, DBWARD_TOKEN: await h.tokenFor(user) };
    const code = await main(["request", "show", String(id), ...flags], env, out);
    return { code, text: out.stdout.join("\n"), err: out.stderr.join("\n") };
  }

  test("names the row cap when the result stopped there", async () => {
    const id = await ranRead("SELECT n FROM t", "rows");
    const r = await show(id, "alice");
    assert.equal(r.code, EXIT.ok, r.err);
    assert.match(r.text, new RegExp(`#${id} {2}succeeded`));
    assert.match(
      r.text,
      /result: +TRUNCATED by the row cap: 2 row\(s\) kept of execution 1; the rest were not stored/,
    );
  });

  test("names the byte cap when the result stopped there", async () => {
    const id = await ranRead("SELECT n FROM u", "bytes");
    assert.match((await show(id, "alice")).text, /result: +TRUNCATED by the byte cap/);
  });

  test("says nothing of truncation for a whole result, nor in --json", async () => {
    const whole = await show(await ranRead("SELECT n FROM v", null), "alice");
    assert.equal(whole.code, EXIT.ok, whole.err);
    assert.doesNotMatch(whole.text, /TRUNCATED/);
    const json = await show(await ranRead("SELECT n FROM w", "rows"), "alice", "--json");
    assert.equal(json.code, EXIT.ok, json.err);
    assert.doesNotMatch(json.text, /TRUNCATED/);
  });

  test("someone the result policy does not name sees the note, like the row count, and reads no result", async () => {
    const id = await ranRead("SELECT n FROM x", "rows");
    const r = await show(id, "bob");
    assert.equal(r.code, EXIT.ok, r.err);
    assert.match(r.text, new RegExp(`#${id} {2}succeeded`));
    assert.match(r.text, /result: +TRUNCATED by the row cap/);
    const audit = (await h.call(h.adminToken, "GET", "/api/audit?limit=1000")).body as {
      events: { action: string; target: string }[];
    };
    assert.deepEqual(
      audit.events.filter((e) => e.target === `request:${id}` && e.action.startsWith("result.")),
      [],
      "request show reads no result",
    );
  });
});
