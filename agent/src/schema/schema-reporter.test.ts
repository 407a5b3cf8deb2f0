/**
 * The agent's loop sending schema context (schema-reporter.ts) to a fake bot, from the real
 * PostgreSQL: a report at the first answered poll and another after a DDL the agent ran, with
 * the new table in it; a bot without the route (404) or failing (500) does not stop the loop,
 * and a 404 is logged once. SQLite databases and `schema: false` ones get no report.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test, type TestContext } from "node:test";
import Database from "better-sqlite3";
import { encodePublicKey, type SchemaReportBody } from "@dbward/shared";
import pg from "pg";
import type { Logger } from "pino";
import { startAgent } from "../agent.ts";
import { reportBody } from "./schema-reporter.ts";
import { loadAgentConfig } from "../config.ts";
import { createAgentLogger } from "../log.ts";
import { FakeBot, until } from "../../../test/support/agent/fake-bot.ts";
import {
  fixedClock,
  generateSigningKey,
  PG_URL,
  signedClaim,
  silentLogger,
  tempDir,
  testConfig,
} from "../../../test/support/agent/unit-helpers.ts";

const schema = `dbward_report_${process.pid}`;

/** The fake bot, and the schema route the bot under construction serves, answering `status`. */
function schemaBot() {
  const bot = new FakeBot();
  const reports: SchemaReportBody[] = [];
  const state = { status: 200 };
  const routed = (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const path = new URL(input instanceof Request ? input.url : String(input)).pathname;
    if (path !== "/api/agent/schema") return bot.fetch(input, init);
    bot.calls.push({ path, body: JSON.parse(String(init?.body)) });
    if (state.status !== 200)
      return Response.json({ error: { code: "internal", message: "no" } }, { status: state.status });
    reports.push(JSON.parse(String(init?.body)) as SchemaReportBody);
    return Response.json({ ok: true });
  }) as typeof fetch;
  const attempts = (): number => bot.calls.filter((c) => c.path === "/api/agent/schema").length;
  return { bot, reports, state, fetch: routed, attempts };
}

function setup(t: TestContext) {
  const dir = tempDir(t);
  const file = join(dir, "app.db");
  new Database(file).exec("CREATE TABLE items (id INTEGER PRIMARY KEY)").close();
  const key = generateSigningKey();
  const config = testConfig(
    join(dir, "data"),
    [key],
    [
      {
        name: "shop",
        environment: "production",
        driver: "postgres",
        url: PG_URL,
        operations: ["read", "ddl"],
      },
      { name: "app", environment: "production", driver: "sqlite", url: file, operations: ["read"] },
    ],
  );
  const s = schemaBot();
  const start = async (logger: Logger = silentLogger) => {
    const agent = await startAgent(config, {
      fetch: s.fetch,
      clock: fixedClock(),
      logger,
      minPollIntervalMs: 0,
    });
    t.after(() => agent.stop());
    return agent;
  };
  const ddl = (table: string) =>
    signedClaim(key, {
      sql: `CREATE TABLE ${schema}.${table} (id int PRIMARY KEY)`,
      database: "shop",
      environment: "production",
      operation: "ddl",
    });
  const read = () =>
    signedClaim(key, {
      sql: "SELECT id FROM items",
      database: "app",
      environment: "production",
      operation: "read",
    });
  return { ...s, start, ddl, read };
}

describe("the agent reporting schema context", () => {
  const admin = new pg.Client({ connectionString: PG_URL });
  before(async () => {
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.before_ddl (id int)`);
  });
  after(async () => {
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  });

  test("reports on start, and again after a DDL it ran, with the new table", async (t) => {
    const s = setup(t);
    await s.start();
    await until(() => s.reports.length === 1, 10_000);
    const first = s.reports[0];
    assert.equal(first?.database, "shop", "the SQLite database gets no report");
    assert.equal(first?.environment, "production");
    assert.equal(first?.truncated, false);
    assert.ok(first?.tables.some((x) => x.schema === schema && x.name === "before_ddl"));
    assert.ok(!first?.tables.some((x) => x.name === "after_ddl"));
    const job = s.ddl("after_ddl");
    s.bot.offer(job);
    await until(() => s.bot.results.has(job.job_id), 10_000);
    assert.equal(s.bot.results.get(job.job_id)?.outcome, "succeeded");
    await until(() => s.reports.length === 2, 10_000);
    assert.ok(s.reports[1]?.tables.some((x) => x.schema === schema && x.name === "after_ddl"));
    assert.equal(s.reports.length, 2, "not again before the interval");
  });

  test("keeps running when the bot has no schema route, and says so once", async (t) => {
    const s = setup(t);
    s.state.status = 404;
    const lines: string[] = [];
    await s.start(createAgentLogger({ write: (line: string) => void lines.push(line) }));
    await until(() => s.attempts() === 1, 10_000);
    const job = s.ddl("after_404");
    s.bot.offer(job);
    await until(() => s.attempts() === 2, 10_000);
    const next = s.read();
    s.bot.offer(next);
    await until(() => s.bot.results.has(next.job_id), 10_000);
    assert.equal(s.bot.results.get(job.job_id)?.outcome, "succeeded");
    assert.equal(s.bot.results.get(next.job_id)?.outcome, "succeeded");
    const said = lines.filter((l) => l.includes("does not take schema reports"));
    assert.equal(said.length, 1, "logged once, not at every attempt");
    assert.ok(!lines.some((l) => l.includes("backing off")), "a missing route is not a failing bot");
  });

  test("keeps running when the bot fails the report, and runs the next job", async (t) => {
    const s = setup(t);
    s.state.status = 500;
    const lines: string[] = [];
    await s.start(createAgentLogger({ write: (line: string) => void lines.push(line) }));
    await until(() => s.attempts() === 1, 10_000);
    const next = s.read();
    s.bot.offer(next);
    await until(() => s.bot.results.has(next.job_id), 10_000);
    assert.equal(s.bot.results.get(next.job_id)?.outcome, "succeeded");
    assert.ok(lines.some((l) => l.includes("did not take the schema report")));
    assert.equal(s.attempts(), 1, "tried again later, not at every poll");
  });

  test("sends nothing for a database with schema: false", async (t) => {
    const dir = tempDir(t);
    const key = generateSigningKey();
    const s = schemaBot();
    const config = loadAgentConfig(
      [
        "id: agent-one",
        "bot_url: http://127.0.0.1:9",
        "allow_insecure: true",
        `keys:\n  ${key.kid}: ${encodePublicKey(key)}`,
        `data_dir: ${join(dir, "data")}`,
        "databases:",
        "  - name: shop",
        "    environment: production",
        "    driver: postgres",
        "    url_env: SHOP_URL",
        "    operations: [read]",
        "    schema: false",
      ].join("\n"),
      { DBWARD_AGENT_TOKEN: "t", SHOP_URL: PG_URL },
    );
    const agent = await startAgent(config, {
      fetch: s.fetch,
      clock: fixedClock(),
      logger: silentLogger,
      minPollIntervalMs: 0,
    });
    t.after(() => agent.stop());
    await until(() => s.bot.calls.filter((c) => c.path === "/api/agent/poll").length >= 3, 10_000);
    assert.equal(s.attempts(), 0);
  });
});

describe("a schema report's size", () => {
  const db =
    testConfig(
      "/nonexistent",
      [generateSigningKey()],
      [{ name: "shop", environment: "production", driver: "postgres", url: PG_URL, operations: ["read"] }],
    ).databases[0] ?? assert.fail("no database");
  const table = (name: string) => ({
    schema: "public",
    name,
    estimated_rows: 1,
    size_bytes: 1,
    columns: [],
    primary_key: [],
    foreign_keys: [],
    indexes: [],
  });

  test("keeps the largest tables that fit the bot's limit and says the rest were cut", () => {
    const tables = ["a", "b", "c"].map(table);
    const one = Buffer.byteLength(JSON.stringify(tables[0])) + 1;
    const cut = reportBody(db, "2030-01-01T00:00:00.000Z", { tables, truncated: false }, one * 2);
    assert.deepEqual(
      cut.tables.map((x) => x.name),
      ["a", "b"],
    );
    assert.equal(cut.truncated, true);
    const whole = reportBody(db, "2030-01-01T00:00:00.000Z", { tables, truncated: false }, one * 3);
    assert.equal(whole.tables.length, 3);
    assert.equal(whole.truncated, false);
  });
});
