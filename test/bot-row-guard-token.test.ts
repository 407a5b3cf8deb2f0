/**
 * The row guard's bound travels only inside the signed execution token: a write under a workflow
 * with `max_rows` is claimed with a token that signs that bound (and shows it to everyone who
 * reads the request), a read is claimed with none, and a config that puts a guard on a workflow
 * without writes is refused at load. The agent side (rolling back a write over its bound) is
 * agent/src/drivers/row-guard.test.ts.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { fromBase64url, type ClaimResponse, type PollResponse, type RequestView } from "@dbward/shared";
import { parseBotConfig } from "../bot/src/config/bot-config.ts";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";

const CONFIG = `
databases:
  - name: shop
    dialect: postgres
    environments: [staging]
workflows:
  - name: guarded-writes
    operations: [write]
    auto_approve: always
    max_rows: 25
  - name: reads
    operations: [read]
    auto_approve: always
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: root, name: Root, roles: [admin] }
agents:
  - id: agent-1
`;

const CAPS = [{ database: "shop", environment: "staging", operations: ["read", "write"] }];

function claimsOf(token: string): Record<string, unknown> {
  const payload = fromBase64url(token.split(".")[1] ?? "");
  assert.ok(payload !== undefined, "the token has a base64url payload");
  return JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
}

describe("row guard in the execution token", () => {
  let h: BotHarness;
  before(async () => {
    h = await startBotHarness(CONFIG);
  });
  after(async () => h.stop());

  async function createAndClaim(sql: string): Promise<{ view: RequestView; claim: ClaimResponse }> {
    const created = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
      database: "shop",
      environment: "staging",
      sql,
      reason: "row guard test",
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const view = created.body as RequestView;
    const polled = await h.call(h.agentTokens["agent-1"] ?? "", "POST", "/api/agent/poll", {
      capabilities: CAPS,
      wait_ms: 0,
    });
    const job = (polled.body as PollResponse).jobs.find((j) => j.request_id === view.id);
    assert.ok(job !== undefined, "the request is offered");
    const claimed = await h.call(
      h.agentTokens["agent-1"] ?? "",
      "POST",
      `/api/agent/jobs/${job.job_id}/claim`,
      {},
    );
    assert.equal(claimed.status, 200, JSON.stringify(claimed.body));
    return { view, claim: claimed.body as ClaimResponse };
  }

  test("a write under a workflow with max_rows is claimed with a token signing that bound", async () => {
    const { view, claim } = await createAndClaim("UPDATE orders SET note = 'x' WHERE id < 10");
    assert.equal(view.workflow.row_guard, 25, "the request shows its bound");
    const claims = claimsOf(claim.token);
    assert.equal(claims.purpose, "execute");
    assert.equal(claims.max_rows, 25);
    assert.equal(claims.ver, 2);
  });

  test("a read is claimed with no guard, and shows none", async () => {
    const { view, claim } = await createAndClaim("SELECT 1 AS one");
    assert.equal(view.workflow.row_guard, null);
    assert.equal(claimsOf(claim.token).max_rows, null);
  });
});

describe("row guard config", () => {
  const base = (workflow: string): string => `
databases:
  - { name: shop, dialect: postgres, environments: [staging] }
workflows:
${workflow}
users:
  - { id: root, name: Root, roles: [admin] }
`;

  test("refuses max_rows on a workflow whose operations include no write, naming the key", () => {
    assert.throws(
      () => parseBotConfig(base("  - { name: r, operations: [read], auto_approve: always, max_rows: 5 }")),
      /workflows\.0\.max_rows.*include no write/s,
    );
  });

  test("refuses a negative or fractional max_rows", () => {
    for (const bad of ["-1", "2.5", "'ten'"]) {
      assert.throws(
        () =>
          parseBotConfig(
            base(`  - { name: w, operations: [write], auto_approve: always, max_rows: ${bad} }`),
          ),
        /max_rows/,
      );
    }
  });

  test("accepts max_rows on a workflow that covers every operation", () => {
    const config = parseBotConfig(base("  - { name: all, auto_approve: always, max_rows: 0 }"));
    assert.equal(config.workflows[0]?.max_rows, 0);
  });
});
