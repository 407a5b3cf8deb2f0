/**
 * Information leaks (SECURITY.md): no secret, token or unredacted SQL ever reaches a log line.
 * The whole flow runs — real bot, real agent, real PostgreSQL; bootstrap tokens, API tokens,
 * the monitoring token, execution tokens; requests whose SQL carries string and number literals,
 * one that the database refuses with an error quoting its literal, failed authentications —
 * with both processes logging at trace level into one captured stream, which is then scanned
 * for every secret and every literal.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createAgentLogger, type AgentHandle } from "@dbward/agent";
import type { ClaimResponse, RequestView } from "@dbward/shared";
import pg from "pg";
import { createBotLogger } from "../bot/src/log/bot-logger.ts";
import { PG_URL, startTestAgent } from "./support/agent-harness.ts";
import { TEST_CONFIG, startBotHarness, type BotHarness } from "./support/bot-harness.ts";
import { waitForStatus } from "./support/wait.ts";

const suffix = randomBytes(4).toString("hex");
const table = `dbward_logs_${suffix}`;
const METRICS_TOKEN = `metrics-${randomBytes(24).toString("base64url")}`;
/** Literals that appear only inside SQL texts: if one shows up in a log line, SQL leaked. */
const LITERALS = [`sekret-read-${suffix}`, "4242424242", `sekret-write-${suffix}`, `sekret-boom-${suffix}`];

describe("logs carry no secrets and no SQL", () => {
  const lines: string[] = [];
  const sink = { write: (line: string) => void lines.push(line) };
  const executionTokens: string[] = [];
  let executionClaims = 0;
  const sqlTexts: string[] = [];
  const requestIds: string[] = [];
  let h: BotHarness;
  let agent: AgentHandle;
  const db = new pg.Client(PG_URL);

  /** The agent's real fetch, with a look at each claim answer to learn the execution token. */
  const observingFetch: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const url = input instanceof Request ? input.url : String(input);
    // Execution tokens and plan tokens (a preflight's claim) alike must stay out of every log.
    if (url.endsWith("/claim") && res.ok) {
      executionTokens.push(((await res.clone().json()) as ClaimResponse).token);
      if (url.includes("/api/agent/jobs/")) executionClaims += 1;
    }
    return res;
  };

  async function create(user: string, sql: string): Promise<RequestView> {
    sqlTexts.push(sql);
    const res = await fetch(`${h.url}/api/requests`, {
      method: "POST",
      headers: { authorization: `Bearer ${await h.tokenFor(user)}`, "content-type": "application/json" },
      body: JSON.stringify({ database: "shop", environment: "staging", sql, reason: "log scan" }),
    });
    requestIds.push(res.headers.get("x-request-id") ?? "");
    assert.equal(res.status, 201, await res.clone().text());
    return (await res.json()) as RequestView;
  }

  before(async () => {
    await db.connect();
    await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, note text NOT NULL)`);
    await db.query(`INSERT INTO ${table} VALUES (1, 'old')`);
    h = await startBotHarness(TEST_CONFIG, {
      env: { DBWARD_METRICS_TOKEN: METRICS_TOKEN },
      logger: createBotLogger({ level: "trace", destination: sink }),
    });
    agent = await startTestAgent(h, "agent-1", undefined, {
      logger: createAgentLogger(sink).child({}, { level: "trace" }),
      fetch: observingFetch,
    });

    const read = await create("alice", `SELECT '${LITERALS[0]}' AS a, ${LITERALS[1]} AS b`);
    await waitForStatus(h, read.id, "succeeded");
    const write = await create("alice", `UPDATE ${table} SET note = '${LITERALS[2]}' WHERE id = 1`);
    assert.equal(
      (await h.call(await h.tokenFor("bob"), "POST", `/api/requests/${write.id}/approve`, {})).status,
      200,
    );
    await waitForStatus(h, write.id, "succeeded");
    const boom = await create("alice", `SELECT '${LITERALS[3]}'::int AS n`);
    await waitForStatus(h, boom.id, "failed");
    await h.call(`dbw_${"B".repeat(43)}`, "GET", "/api/requests");
    await h.call(h.agentTokens["agent-2"] ?? "", "POST", "/api/agent/jobs/1-9/claim", {});
    await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    await h.call(await h.tokenFor("alice"), "POST", "/api/requests", "{ not json");
  });

  after(async () => {
    await agent.stop();
    await h.stop();
    await db.query(`DROP TABLE IF EXISTS ${table}`);
    await db.end();
  });

  test("the flow logged, as JSON lines, with the request id of each HTTP call", () => {
    assert.ok(lines.length > 20, `only ${lines.length} lines`);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(
      parsed.some((l) => l.msg === "job finished"),
      "the agent's lines are in the capture",
    );
    for (const id of requestIds) {
      assert.ok(
        parsed.some((l) => l.req_id === id && l.msg === "http request"),
        `no line for ${id}`,
      );
    }
  });

  test("no line holds a token: bootstrap, API, agent, monitoring or execution", async () => {
    assert.equal(executionClaims, 3, "three executions were claimed");
    const secrets = [
      h.adminToken,
      ...Object.values(h.agentTokens),
      await h.tokenFor("alice"),
      await h.tokenFor("bob"),
      await h.tokenFor("olga"),
      METRICS_TOKEN,
      ...executionTokens,
      ...executionTokens.flatMap((t) => t.split(".")).filter((part) => part.length >= 16),
    ];
    assertAbsent(lines, secrets);
  });

  test("no line holds the signing key", () => {
    const key = JSON.parse(readFileSync(join(h.dataDir, "bot", "signing-key.json"), "utf8")) as {
      secret_key: string;
    };
    assertAbsent(lines, [key.secret_key]);
  });

  test("no line holds SQL text or a literal from it, even when the database quoted one in an error", () => {
    assertAbsent(lines, [...LITERALS, ...sqlTexts, table]);
  });
});

function assertAbsent(lines: readonly string[], secrets: readonly string[]): void {
  for (const secret of secrets) {
    assert.ok(secret.length >= 8, "a secret this short would match by chance");
    const hit = lines.find((l) => l.includes(secret));
    assert.equal(hit, undefined, `a log line contains ${secret.slice(0, 6)}…: ${hit?.slice(0, 300)}`);
  }
}
