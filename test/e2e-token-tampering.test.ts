/**
 * T-TAMPER: whatever reaches the agent between the bot's signature and the database — a flipped
 * byte in the token, a changed SQL text, a job re-pointed at another database, a token signed by
 * a key the agent has not pinned — is refused by the real agent, nothing runs, and the refusal
 * is in the bot's audit trail.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { AgentHandle } from "@dbward/agent";
import { listAudit, verifyAuditStore } from "@dbward/bot";
import { generateSigningKey, signExecutionToken, type ClaimResponse, type RequestView } from "@dbward/shared";
import pg from "pg";
import { PG_URL, startTestAgent } from "./support/agent-harness.ts";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";
import { waitForStatus } from "./support/wait.ts";

type Mutation = (claim: ClaimResponse) => ClaimResponse;

/** A fetch that rewrites claim answers on their way from the bot to the agent. */
function tamperingFetch(mutate: () => Mutation | undefined): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    const m = mutate();
    if (
      m === undefined ||
      !String(input instanceof Request ? input.url : input).endsWith("/claim") ||
      !res.ok
    )
      return res;
    const claim = (await res.json()) as ClaimResponse;
    return new Response(JSON.stringify(m(claim)), {
      status: res.status,
      headers: { "content-type": "application/json" },
    });
  };
}

const table = `dbward_tamper_${randomBytes(4).toString("hex")}`;

describe("token tampering is refused by the agent and audited", () => {
  let h: BotHarness;
  let agent: AgentHandle;
  let mutation: Mutation | undefined;
  const db = new pg.Client(PG_URL);

  before(async () => {
    await db.connect();
    await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, n int NOT NULL)`);
    await db.query(`INSERT INTO ${table} VALUES (1, 0)`);
    h = await startBotHarness();
    agent = await startTestAgent(h, "agent-2", undefined, { fetch: tamperingFetch(() => mutation) });
  });
  after(async () => {
    await agent.stop();
    await h.stop();
    await db.query(`DROP TABLE IF EXISTS ${table}`);
    await db.end();
  });

  async function runTampered(m: Mutation, expectedCode: string): Promise<void> {
    mutation = m;
    const alice = await h.tokenFor("alice");
    const res = await h.call(alice, "POST", "/api/requests", {
      database: "shop",
      environment: "staging",
      sql: `UPDATE ${table} SET n = n + 1 WHERE id = 1`,
      reason: "tamper test",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const id = (res.body as RequestView).id;
    await h.call(await h.tokenFor("bob"), "POST", `/api/requests/${id}/approve`, {});
    const done = await waitForStatus(h, id, "failed");
    assert.equal(done.executions[0]?.error?.code, expectedCode);
    const events = await listAudit(h.bot.store, { target: `request:${id}` });
    const refusal = events.find((e) => e.action === "execution.refused");
    assert.equal(refusal?.outcome, "denied");
    assert.deepEqual((refusal?.details.error as { code?: string } | undefined)?.code, expectedCode);
    const row = await db.query(`SELECT n FROM ${table} WHERE id = 1`);
    assert.equal(row.rows[0].n, 0, "the UPDATE must not have run");
  }

  test("a token with one flipped signature character is refused as a bad signature", async () => {
    await runTampered((c) => {
      const last = c.token.at(-2) === "A" ? "B" : "A";
      return { ...c, token: `${c.token.slice(0, -2)}${last}${c.token.slice(-1)}` };
    }, "token.bad_signature");
  });

  test("SQL changed by one byte is refused as a hash mismatch", async () => {
    await runTampered((c) => ({ ...c, sql: `${c.sql} ` }), "token.sql_mismatch");
  });

  test("a job re-pointed at another database is refused", async () => {
    await runTampered((c) => ({ ...c, database: "legacy", environment: "production" }), "token.capability");
  });

  test("a token signed by a key the agent has not pinned is refused", async () => {
    const rogue = generateSigningKey("rogue");
    await runTampered((c) => {
      const now = Math.floor(Date.now() / 1000);
      const token = signExecutionToken(rogue, {
        jti: "x".repeat(16),
        req: c.request_id,
        exe: c.execution,
        purpose: "execute",
        max_rows: null,
        db: c.database,
        env: c.environment,
        op: c.operation,
        sql_sha256: "0".repeat(64),
        agent: "agent-2",
        iat: now,
        exp: now + 60,
      });
      return { ...c, token };
    }, "token.unknown_key");
  });

  test("the audit chain still verifies after every refusal", async () => {
    mutation = undefined;
    assert.equal((await verifyAuditStore(h.bot.store)).ok, true);
  });
});
