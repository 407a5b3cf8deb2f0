/**
 * Plans for approvers end to end, with the real bot, the real agent and the real PostgreSQL and
 * MariaDB: a read and a write waiting for approval get an EXPLAIN (never run: the rows stay as
 * they were), summarised with the table's sequential scan; a MariaDB write gets a shown refusal
 * instead of a plan, since its EXPLAIN may call stored functions outside a read-only transaction;
 * and an approved request runs as usual after its plan.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { AgentHandle } from "@dbward/agent";
import type { PreflightView, RequestView } from "@dbward/shared";
import mysql from "mysql2/promise";
import pg from "pg";
import { MARIADB_URL, PG_URL, startTestAgent } from "./support/agent-harness.ts";
import { startBotHarness, TEST_CONFIG, type BotHarness } from "./support/bot-harness.ts";
import { waitFor } from "./support/wait.ts";

// Reads wait for approval too here, so they get a plan.
const CONFIG = TEST_CONFIG.replace(
  "  - name: reads-auto\n    operations: [read]\n    auto_approve: always\n",
  '  - name: reads-approved\n    operations: [read]\n    steps:\n      - approvers: ["role:approver"]\n',
);
const table = `dbward_plan_${randomBytes(4).toString("hex")}`;

describe("plans for approvers end to end", () => {
  let h: BotHarness;
  let agent: AgentHandle;
  const pgDb = new pg.Client(PG_URL);
  let myDb: mysql.Connection;

  before(async () => {
    assert.notEqual(CONFIG, TEST_CONFIG);
    await pgDb.connect();
    myDb = await mysql.createConnection(MARIADB_URL);
    await pgDb.query(`CREATE TABLE ${table} (id int PRIMARY KEY, n int NOT NULL)`);
    await pgDb.query(`INSERT INTO ${table} SELECT g, 0 FROM generate_series(1, 500) g`);
    await pgDb.query(`ANALYZE ${table}`);
    await myDb.query(`CREATE TABLE ${table} (id int PRIMARY KEY, n int NOT NULL) ENGINE=InnoDB`);
    await myDb.query(`INSERT INTO ${table} VALUES (1, 0), (2, 0), (3, 0)`);
    h = await startBotHarness(CONFIG);
    agent = await startTestAgent(h, "agent-1");
  });
  after(async () => {
    await agent.stop();
    await h.stop();
    await pgDb.query(`DROP TABLE IF EXISTS ${table}`);
    await myDb.query(`DROP TABLE IF EXISTS ${table}`);
    await pgDb.end();
    await myDb.end();
  });

  async function ask(database: string, environment: string, sql: string): Promise<RequestView> {
    const res = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
      database,
      environment,
      sql,
      reason: "plan test",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const view = res.body as RequestView;
    assert.equal(view.status, "pending_approval");
    return view;
  }
  function planned(id: number): Promise<PreflightView> {
    return waitFor(`a finished plan of request ${id}`, async () => {
      const res = await h.call(await h.tokenFor("bob"), "GET", `/api/requests/${id}`);
      const p = (res.body as RequestView).preflights[0];
      return p !== undefined && (p.status === "succeeded" || p.status === "failed") ? p : undefined;
    });
  }

  test("PostgreSQL: a pending write is planned, not run, and its plan names the sequential scan", async () => {
    const r = await ask("shop", "staging", `UPDATE ${table} SET n = n + 1 WHERE n = 0`);
    const p = await planned(r.id);
    assert.equal(p.status, "succeeded", JSON.stringify(p));
    assert.equal(p.agent, "agent-1");
    assert.equal(p.summary?.engine, "postgres");
    assert.equal(p.summary?.estimated_rows, 500);
    assert.deepEqual(
      p.summary?.sequential_scans.map((s) => s.relation),
      [table],
    );
    const rows = await pgDb.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE n <> 0`);
    assert.equal(rows.rows[0]?.n, 0, "the UPDATE did not run");
    const plan = await h.call(await h.tokenFor("bob"), "GET", `/api/requests/${r.id}/plan`);
    assert.equal(plan.status, 200, JSON.stringify(plan.body));
    assert.ok(Array.isArray((plan.body as { plan: unknown }).plan), "the whole EXPLAIN (FORMAT JSON) answer");
  });

  test("PostgreSQL: a pending read is planned", async () => {
    const r = await ask("shop", "staging", `SELECT id FROM ${table} WHERE n > 10`);
    const p = await planned(r.id);
    assert.equal(p.status, "succeeded", JSON.stringify(p));
    assert.equal(p.summary?.sequential_scans[0]?.relation, table);
  });

  test("MariaDB: a read is planned; a write gets a shown refusal, and nothing ran", async () => {
    const read = await ask("legacy", "production", `SELECT id FROM ${table} WHERE n > 10`);
    const readPlan = await planned(read.id);
    assert.equal(readPlan.status, "succeeded", JSON.stringify(readPlan));
    assert.equal(readPlan.summary?.engine, "mysql");
    const write = await ask("legacy", "production", `UPDATE ${table} SET n = 9 WHERE id = 1`);
    const writePlan = await planned(write.id);
    assert.equal(writePlan.status, "failed");
    assert.equal(writePlan.error?.code, "sql.unverified");
    assert.match(
      writePlan.error?.message ?? "",
      /runs outside a read-only transaction and may call stored functions/,
    );
    const [rows] = await myDb.query(`SELECT n FROM ${table} WHERE id = 1`);
    assert.deepEqual(rows, [{ n: 0 }]);
  });

  test("a request that is approved runs as usual after its plan", async () => {
    const r = await ask("shop", "staging", `UPDATE ${table} SET n = 1 WHERE id = 1`);
    await planned(r.id);
    const approved = await h.call(await h.tokenFor("bob"), "POST", `/api/requests/${r.id}/approve`, {});
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    const done = await waitFor(`request ${r.id} to succeed`, async () => {
      const v = (await h.call(await h.tokenFor("bob"), "GET", `/api/requests/${r.id}`)).body as RequestView;
      return v.status === "succeeded" || v.status === "failed" ? v : undefined;
    });
    assert.equal(done.status, "succeeded", JSON.stringify(done.executions));
    assert.equal(done.executions[0]?.affected_rows, 1);
  });
});
