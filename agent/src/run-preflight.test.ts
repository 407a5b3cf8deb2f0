/**
 * The agent's loop making plans (run-preflight.ts) against a fake bot and the real PostgreSQL:
 * it plans what it is offered and reports the plan; a token for another purpose is refused and
 * reported, and nothing is planned; a plan the bot no longer takes (it lapsed meanwhile) does not
 * stop the loop, and the next job still runs.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import Database from "better-sqlite3";
import {
  sha256Hex,
  signExecutionToken,
  type PreflightClaimResponse,
  type TokenPurpose,
} from "@dbward/shared";
import { startAgent } from "./agent.ts";
import { createAgentLogger } from "./log.ts";
import { FakeBot, until } from "../../test/support/agent/fake-bot.ts";
import {
  AGENT_ID,
  fixedClock,
  generateSigningKey,
  NOW_MS,
  PG_URL,
  signedClaim,
  silentLogger,
  tempDir,
  testConfig,
} from "../../test/support/agent/unit-helpers.ts";

const SQL = "SELECT relname FROM pg_class WHERE relname = 'pg_type'";

function setup(t: TestContext) {
  const dir = tempDir(t);
  const file = join(dir, "app.db");
  new Database(file).exec("CREATE TABLE items (id INTEGER PRIMARY KEY)").close();
  const key = generateSigningKey();
  const config = testConfig(
    join(dir, "data"),
    [key],
    [
      { name: "shop", environment: "production", driver: "postgres", url: PG_URL, operations: ["read"] },
      { name: "app", environment: "production", driver: "sqlite", url: file, operations: ["read"] },
    ],
  );
  const bot = new FakeBot();
  let n = 0;
  const plan = (purpose: TokenPurpose = "explain"): PreflightClaimResponse => {
    n += 1;
    const iat = Math.floor(NOW_MS / 1000);
    return {
      preflight_id: `${n}-explain`,
      request_id: n,
      kind: "explain",
      token: signExecutionToken(key, {
        jti: `plan-${process.pid}-${n}`,
        req: n,
        exe: 0,
        purpose,
        max_rows: null,
        db: "shop",
        env: "production",
        op: "read",
        sql_sha256: sha256Hex(SQL),
        agent: AGENT_ID,
        iat,
        exp: iat + 300,
      }),
      sql: SQL,
      database: "shop",
      environment: "production",
      operation: "read",
      statement_timeout_ms: 5000,
    };
  };
  const start = async (logger = silentLogger) => {
    const agent = await startAgent(config, {
      fetch: bot.fetch,
      clock: fixedClock(),
      logger,
      minPollIntervalMs: 0,
    });
    t.after(() => agent.stop());
    return agent;
  };
  return { bot, plan, start, key };
}

describe("the agent making plans", () => {
  test("plans what it is offered on the real server and reports the plan", async (t) => {
    const s = setup(t);
    const offered = s.plan();
    s.bot.offerPlan(offered);
    await s.start();
    await until(() => s.bot.planReports.has(offered.preflight_id), 10_000);
    const report = s.bot.planReports.get(offered.preflight_id);
    assert.equal(report?.outcome, "succeeded", JSON.stringify(report));
    assert.equal(report?.engine, "postgres");
    assert.ok(Array.isArray(report?.plan), "EXPLAIN (FORMAT JSON)'s own answer");
  });

  test("refuses and reports a token signed for another purpose, planning nothing", async (t) => {
    const s = setup(t);
    const offered = s.plan("execute");
    s.bot.offerPlan(offered);
    await s.start();
    await until(() => s.bot.planReports.has(offered.preflight_id), 10_000);
    const report = s.bot.planReports.get(offered.preflight_id);
    assert.equal(report?.outcome, "failed");
    assert.equal(report?.error?.code, "token.purpose_mismatch");
    assert.equal(report?.plan, undefined);
  });

  test("a plan the bot no longer takes does not stop the loop: the next job runs", async (t) => {
    const s = setup(t);
    s.bot.planReportStatus = 409;
    const offered = s.plan();
    s.bot.offerPlan(offered);
    const lines: string[] = [];
    await s.start(createAgentLogger({ write: (line: string) => void lines.push(line) }));
    const reported = `/api/agent/preflights/${offered.preflight_id}/result`;
    await until(() => s.bot.calls.some((c) => c.path === reported), 10_000);
    const job = signedClaim(s.key, {
      sql: "SELECT id FROM items",
      database: "app",
      environment: "production",
      operation: "read",
    });
    s.bot.offer(job);
    await until(() => s.bot.results.has(job.job_id), 10_000);
    assert.equal(s.bot.results.get(job.job_id)?.outcome, "succeeded");
    const text = lines.join("");
    assert.match(text, /the bot no longer takes this plan/);
    assert.doesNotMatch(text, /backing off/, "a refused plan is not a failing bot");
  });
});
