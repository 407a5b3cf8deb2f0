/**
 * The agent loop against a fake bot (an injected fetch speaking the shared protocol), with real
 * tokens and a real SQLite database. The loop against the real bot is covered under test/.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import Database from "better-sqlite3";
import { sha256Hex, type ClaimResponse } from "@dbward/shared";
import type { Logger } from "pino";
import { SESSION_FILE, startAgent, type AgentOptions } from "./agent.ts";
import type { Clock } from "./clock.ts";
import { collect, type Driver } from "./drivers/driver.ts";
import { createAgentLogger } from "./log.ts";
import { FakeBot, until } from "../../test/support/agent/fake-bot.ts";
import {
  fixedClock,
  generateSigningKey,
  NOW_MS,
  signedClaim,
  silentLogger,
  tempDir,
  testConfig,
} from "../../test/support/agent/unit-helpers.ts";

function setup(t: TestContext) {
  const dir = tempDir(t);
  const file = join(dir, "app.db");
  const db = new Database(file);
  db.exec(
    "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO items VALUES (1, 'a'), (2, 'b')",
  );
  db.close();
  const key = generateSigningKey();
  const config = testConfig(
    join(dir, "data"),
    [key],
    [{ name: "app", environment: "production", driver: "sqlite", url: file, operations: ["read", "write"] }],
  );
  const bot = new FakeBot();
  const claim = (
    sql = "SELECT id, name FROM items ORDER BY id",
    overrides: Partial<ClaimResponse> = {},
  ): ClaimResponse =>
    signedClaim(key, { sql, database: "app", environment: "production", operation: "read" }, overrides);
  const start = async (options: AgentOptions = {}) => {
    const agent = await startAgent(config, {
      fetch: bot.fetch,
      clock: fixedClock(),
      logger: silentLogger,
      minPollIntervalMs: 0,
      ...options,
    });
    t.after(() => agent.stop());
    return agent;
  };
  return { bot, claim, start, file, config };
}

/** A driver whose statement finishes only when the test says so. */
function gatedDriver(): { factory: () => Driver; release: () => void; started: () => boolean } {
  let release = (): void => undefined;
  let started = false;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const stream: Driver["stream"] = async (_sql, _options, sink) => {
    started = true;
    await gate;
    sink.columns(["x"]);
    await sink.rows([[1]]);
    return {};
  };
  const driver: Driver = {
    stream,
    execute: (sql, options) => collect(stream, sql, options),
    close: () => Promise.resolve(),
  };
  return { factory: () => driver, release: () => release(), started: () => started };
}

/** A clock whose sleeps return at once and move it on: retry times pass without waiting. */
function fastClock(): Clock {
  let offset = 0;
  return {
    now: () => new Date(NOW_MS + offset),
    sleep: (ms) => {
      offset += ms;
      return new Promise((resolve) => setImmediate(resolve));
    },
  };
}

describe("agent loop", () => {
  test("polls, claims, runs and submits the result of an offered job", async (t) => {
    const s = setup(t);
    const agent = await s.start();
    const job = s.claim();
    s.bot.offer(job);
    await until(() => s.bot.results.has(job.job_id));
    await agent.stop();
    const result = s.bot.results.get(job.job_id);
    assert.equal(result?.outcome, "succeeded");
    assert.deepEqual(s.bot.rows(job.job_id), [
      [1, "a"],
      [2, "b"],
    ]);
    assert.deepEqual(result?.streamed, {
      columns: ["id", "name"],
      chunks: 1,
      row_count: 2,
      bytes: 16,
      truncated_by: null,
    });
    const paths = s.bot.calls.map((c) => c.path).filter((p) => !p.endsWith("/poll"));
    assert.deepEqual(paths, [
      `/api/agent/jobs/${job.job_id}/claim`,
      `/api/agent/jobs/${job.job_id}/result/chunks/0`,
      `/api/agent/jobs/${job.job_id}/result`,
    ]);
  });

  test("polls with its capabilities, configured wait, the plans it makes and its data directory's session", async (t) => {
    const s = setup(t);
    const agent = await s.start();
    await until(() => s.bot.calls.length > 0);
    await agent.stop();
    const session = readFileSync(join(s.config.dataDir, SESSION_FILE), "utf8").trim();
    assert.match(session, /^[A-Za-z0-9_-]{32}$/);
    assert.deepEqual(s.bot.calls[0]?.body, {
      capabilities: [{ database: "app", environment: "production", operations: ["read", "write"] }],
      wait_ms: 25_000,
      preflights: ["explain"],
      session,
    });
  });

  test("keeps its session across a restart on the same data directory", async (t) => {
    const s = setup(t);
    const first = await s.start();
    await until(() => s.bot.calls.length > 0);
    await first.stop();
    const second = await s.start();
    await until(() => s.bot.calls.filter((c) => c.path.endsWith("/poll")).length > 1);
    await second.stop();
    const sessions = new Set(
      s.bot.calls
        .filter((c) => c.path.endsWith("/poll"))
        .map((c) => (c.body as { session?: unknown }).session),
    );
    assert.equal(sessions.size, 1, "one session for one data directory");
  });

  test("moves on when another agent wins the claim", async (t) => {
    const s = setup(t);
    const lost = s.claim();
    const won = s.claim("SELECT name FROM items WHERE id = 1");
    s.bot.claimStatus.set(lost.job_id, 409);
    s.bot.offer(lost);
    s.bot.offer(won);
    const agent = await s.start();
    await until(() => s.bot.results.has(won.job_id));
    await agent.stop();
    assert.equal(s.bot.results.has(lost.job_id), false);
    assert.equal(s.bot.results.get(won.job_id)?.outcome, "succeeded");
  });

  test("does not claim a job outside its capabilities", async (t) => {
    const s = setup(t);
    const foreign = { ...s.claim(), job_id: "job-foreign", database: "billing" };
    const job = s.claim();
    s.bot.offer(foreign);
    s.bot.offer(job);
    const agent = await s.start();
    await until(() => s.bot.results.has(job.job_id));
    await agent.stop();
    assert.ok(!s.bot.calls.some((c) => c.path.includes("job-foreign")), "the foreign job was never claimed");
  });

  test("reports a job whose token does not match its SQL as refused, without running it", async (t) => {
    const s = setup(t);
    const job = { ...s.claim("UPDATE items SET name = 'x'"), sql: "UPDATE items SET name = 'y'" };
    s.bot.offer(job);
    const agent = await s.start();
    await until(() => s.bot.results.has(job.job_id));
    await agent.stop();
    assert.equal(s.bot.results.get(job.job_id)?.outcome, "refused");
    assert.equal(s.bot.results.get(job.job_id)?.error?.code, "token.sql_mismatch");
    const db = new Database(s.file, { readonly: true });
    assert.deepEqual(db.prepare("SELECT name FROM items ORDER BY id").pluck().all(), ["a", "b"]);
    db.close();
  });

  test("backs off with growing, jittered delays while the bot fails, then recovers", async (t) => {
    const s = setup(t);
    const sleeps: number[] = [];
    const clock: Clock = {
      now: () => fixedClock().now(),
      sleep: (ms) => (sleeps.push(ms), new Promise((r) => setImmediate(r))),
    };
    s.bot.pollFailures = 3;
    const job = s.claim();
    s.bot.offer(job);
    const agent = await s.start({ clock, random: () => 0.5 });
    await until(() => s.bot.results.has(job.job_id));
    await agent.stop();
    assert.deepEqual(sleeps.slice(0, 3), [375, 750, 1500]);
  });

  test("sends heartbeats while a statement runs and stops them when it ends", async (t) => {
    const s = setup(t);
    const gated = gatedDriver();
    const job = s.claim(undefined, { heartbeat_interval_ms: 100 });
    s.bot.offer(job);
    const agent = await s.start({ driverFactory: gated.factory });
    await until(() => s.bot.heartbeats(job.job_id) >= 2);
    gated.release();
    await until(() => s.bot.results.has(job.job_id));
    const beats = s.bot.heartbeats(job.job_id);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(s.bot.heartbeats(job.job_id), beats, "no heartbeat after the job ended");
    await agent.stop();
  });

  test("stop() waits for the running job and submits its result", async (t) => {
    const s = setup(t);
    const gated = gatedDriver();
    const job = s.claim();
    s.bot.offer(job);
    const agent = await s.start({ driverFactory: gated.factory });
    await until(gated.started);
    let stopped = false;
    const stopping = agent.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(stopped, false, "stop() returned while the job was running");
    gated.release();
    await stopping;
    assert.equal(s.bot.results.get(job.job_id)?.outcome, "succeeded");
  });

  test("a cancel in a heartbeat's answer stops the running job and reports it cancelled", async (t) => {
    const s = setup(t);
    const job = s.claim("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c", {
      heartbeat_interval_ms: 100,
      row_cap: 100_000_000,
      statement_timeout_ms: 600_000,
    });
    s.bot.cancelled.add(job.job_id);
    s.bot.offer(job);
    const agent = await s.start();
    await until(() => s.bot.results.has(job.job_id), 20_000);
    await agent.stop();
    assert.equal(s.bot.results.get(job.job_id)?.outcome, "cancelled");
    assert.equal(s.bot.results.get(job.job_id)?.error?.code, "execution.cancelled");
  });

  test("keeps a result the bot cannot take in the outbox and delivers it when the bot answers again", async (t) => {
    const s = setup(t);
    s.bot.resultFailures = 1_000_000;
    const job = s.claim();
    s.bot.offer(job);
    const agent = await s.start({ clock: fastClock() });
    await until(() => readdirSync(join(s.config.dataDir, "outbox")).length > 0, 10_000);
    s.bot.resultFailures = 0;
    await until(() => s.bot.results.has(job.job_id), 10_000);
    await until(() => readdirSync(join(s.config.dataDir, "outbox")).length === 0);
    await agent.stop();
    assert.equal(s.bot.results.get(job.job_id)?.outcome, "succeeded");
  });

  test("stop() ends a waiting long poll at once", async (t) => {
    const s = setup(t);
    s.bot.pollWaitMs = 60_000;
    const agent = await s.start();
    await until(() => s.bot.calls.length > 0);
    const started = Date.now();
    await agent.stop();
    assert.ok(Date.now() - started < 1000);
  });

  test("retries a result submission until the bot takes it", async (t) => {
    const s = setup(t);
    s.bot.resultFailures = 2;
    const job = s.claim();
    s.bot.offer(job);
    const agent = await s.start();
    await until(() => s.bot.results.has(job.job_id));
    await agent.stop();
    assert.equal(s.bot.calls.filter((c) => c.path.endsWith("/result")).length, 3);
  });
});

describe("agent logs", () => {
  test("never contain the token, the agent token, a connection URL or SQL text", async (t) => {
    const s = setup(t);
    const lines: string[] = [];
    const logger: Logger = createAgentLogger({ write: (line: string) => void lines.push(line) });
    const job = s.claim("SELECT name FROM items WHERE name = 'secret-literal'");
    s.bot.offer(job);
    const agent = await s.start({ logger });
    await until(() => s.bot.results.has(job.job_id));
    await agent.stop();
    const text = lines.join("");
    for (const secret of [job.token, "agent-secret-token", s.file, "secret-literal"]) {
      assert.ok(!text.includes(secret), `logs contain ${secret}`);
    }
    assert.ok(text.includes(sha256Hex(job.sql)), "the job is logged by its SQL hash");
  });
});
