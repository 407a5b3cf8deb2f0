/**
 * The whole path over real HTTP: request → approval → the real agent claims, verifies and runs the
 * SQL on the real PostgreSQL and MariaDB → the result comes back → the audit chain verifies.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { AgentHandle } from "@dbward/agent";
import { verifyAuditStore } from "@dbward/bot";
import type { RequestView, ResultView } from "@dbward/shared";
import mysql from "mysql2/promise";
import pg from "pg";
import { MARIADB_URL, PG_URL, startTestAgent } from "./support/agent-harness.ts";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";
import { waitForStatus } from "./support/wait.ts";

const table = `dbward_e2e_${randomBytes(4).toString("hex")}`;

describe("end to end with the real agent", () => {
  let h: BotHarness;
  let agent: AgentHandle;
  const pgClient = new pg.Client(PG_URL);
  let maria: mysql.Connection;

  before(async () => {
    await pgClient.connect();
    await pgClient.query(`CREATE TABLE ${table} (id int PRIMARY KEY, status text NOT NULL)`);
    await pgClient.query(`INSERT INTO ${table} VALUES (1, 'new'), (2, 'new'), (3, 'paid')`);
    maria = await mysql.createConnection(MARIADB_URL);
    await maria.query(`CREATE TABLE ${table} (id int PRIMARY KEY, status varchar(20) NOT NULL)`);
    await maria.query(`INSERT INTO ${table} VALUES (1, 'new'), (2, 'new'), (3, 'paid')`);
    h = await startBotHarness();
    agent = await startTestAgent(h);
  });
  after(async () => {
    await agent.stop();
    await h.stop();
    await pgClient.query(`DROP TABLE IF EXISTS ${table}`);
    await pgClient.end();
    await maria.query(`DROP TABLE IF EXISTS ${table}`);
    await maria.end();
  });

  async function resultOf(id: number): Promise<ResultView> {
    return (await h.call(await h.tokenFor("alice"), "GET", `/api/requests/${id}/result`)).body as ResultView;
  }

  async function create(user: string, body: Record<string, string>): Promise<RequestView> {
    const res = await h.call(await h.tokenFor(user), "POST", "/api/requests", body);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as RequestView;
  }

  test("an auto-approved SELECT on PostgreSQL runs and returns its rows in column order", async () => {
    const r = await create("alice", {
      database: "shop",
      environment: "staging",
      sql: `SELECT id, status FROM ${table} ORDER BY id`,
      reason: "look",
    });
    const done = await waitForStatus(h, r.id, "succeeded");
    assert.equal(done.executions[0]?.agent, "agent-1");
    const result = await resultOf(r.id);
    assert.deepEqual(result.columns, ["id", "status"]);
    assert.deepEqual(result.rows, [
      [1, "new"],
      [2, "new"],
      [3, "paid"],
    ]);
    assert.equal(result.truncated, false);
  });

  test("an UPDATE on PostgreSQL production runs only after two approvals, and changes exactly what it says", async () => {
    const r = await create("alice", {
      database: "shop",
      environment: "production",
      sql: `UPDATE ${table} SET status = 'paid' WHERE id = 1`,
      reason: "customer paid by phone",
    });
    assert.equal(r.status, "pending_approval");
    await h.call(await h.tokenFor("bob"), "POST", `/api/requests/${r.id}/approve`, {});
    const before = await pgClient.query(`SELECT status FROM ${table} WHERE id = 1`);
    assert.equal(before.rows[0].status, "new", "nothing runs before the last approval");
    await h.call(await h.tokenFor("carol"), "POST", `/api/requests/${r.id}/approve`, {});
    const done = await waitForStatus(h, r.id, "succeeded");
    assert.equal(done.executions[0]?.affected_rows, 1);
    const after = await pgClient.query(`SELECT id, status FROM ${table} ORDER BY id`);
    assert.deepEqual(after.rows, [
      { id: 1, status: "paid" },
      { id: 2, status: "new" },
      { id: 3, status: "paid" },
    ]);
  });

  test("safe session settings before the statement run first; they may tighten the timeout, not lift it", async () => {
    const settings = await create("alice", {
      database: "shop",
      environment: "staging",
      sql: "SET work_mem = '8MB';\nSET statement_timeout = '1h';\nSELECT current_setting('work_mem') AS work_mem, current_setting('statement_timeout') AS timeout",
      reason: "check the session settings",
    });
    await waitForStatus(h, settings.id, "succeeded");
    const shown = await resultOf(settings.id);
    const [workMem, timeout] = shown.rows[0] ?? [];
    assert.equal(workMem, "8MB");
    assert.notEqual(timeout, "1h", "the agent's own timeout is back in force");
    assert.match(String(timeout), /^\d+(ms|s|min)$/);

    const tightened = await create("alice", {
      database: "shop",
      environment: "staging",
      sql: "SET statement_timeout = '100ms'; SELECT count(*) FROM generate_series(1, 500000000)",
      reason: "a tighter timeout of my own",
    });
    const done = await waitForStatus(h, tightened.id, "timed_out");
    assert.equal(done.executions[0]?.error?.code, "execution.timeout");

    const maria = await create("alice", {
      database: "legacy",
      environment: "production",
      sql: "SET time_zone = '+03:00'; SELECT @@session.time_zone AS tz",
      reason: "the time zone setting",
    });
    await waitForStatus(h, maria.id, "succeeded");
    const tz = await resultOf(maria.id);
    assert.deepEqual(tz.rows, [["+03:00"]]);
  });

  test("a SELECT and an UPDATE on MariaDB run the same way", async () => {
    const read = await create("alice", {
      database: "legacy",
      environment: "production",
      sql: `SELECT status, COUNT(*) AS n FROM ${table} GROUP BY status ORDER BY status`,
      reason: "count",
    });
    await waitForStatus(h, read.id, "succeeded");
    const result = await resultOf(read.id);
    assert.deepEqual(result.columns, ["status", "n"]);
    // COUNT(*) is a BIGINT; the agent sends 64-bit integers as strings so none loses precision.
    assert.deepEqual(result.rows, [
      ["new", "2"],
      ["paid", "1"],
    ]);
    const write = await create("alice", {
      database: "legacy",
      environment: "production",
      sql: `UPDATE ${table} SET status = 'void' WHERE id = 2`,
      reason: "void order 2",
    });
    await h.call(await h.tokenFor("bob"), "POST", `/api/requests/${write.id}/approve`, {});
    const done = await waitForStatus(h, write.id, "succeeded");
    assert.equal(done.executions[0]?.affected_rows, 1);
    const [rows] = await maria.query(`SELECT status FROM ${table} WHERE id = 2`);
    assert.deepEqual(rows, [{ status: "void" }]);
  });

  test("a failing statement ends failed with the database's error, and nothing is retried", async () => {
    const r = await create("alice", {
      database: "shop",
      environment: "staging",
      sql: "SELECT * FROM no_such_table_dbward",
      reason: "typo",
    });
    const done = await waitForStatus(h, r.id, "failed");
    assert.equal(done.executions.length, 1);
    assert.match(done.executions[0]?.error?.message ?? "", /no_such_table_dbward/);
  });

  test("after all of it the audit chain verifies", async () => {
    const verdict = await verifyAuditStore(h.bot.store);
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
  });
});
