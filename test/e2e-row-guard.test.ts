/**
 * The row guard end to end, with the real bot, the real agent and the real PostgreSQL and
 * MariaDB: a write under a workflow with `max_rows` that changes more rows is rolled back by the
 * agent and fails with `execution.row_guard`, nothing changed; one within the bound commits; and
 * a bound lifted on the way from the bot to the agent is refused as a bad signature, because the
 * bound is inside what the bot signed.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { AgentHandle } from "@dbward/agent";
import { base64url, fromBase64url, type ClaimResponse, type RequestView } from "@dbward/shared";
import mysql from "mysql2/promise";
import pg from "pg";
import { MARIADB_URL, PG_URL, startTestAgent } from "./support/agent-harness.ts";
import { startBotHarness, TEST_CONFIG, type BotHarness } from "./support/bot-harness.ts";
import { waitForStatus } from "./support/wait.ts";

const GUARDED_CONFIG = TEST_CONFIG.replace(
  `  - name: writes-one-approver
    database: "*"
    environment: "*"
    operations: [write]
`,
  `  - name: writes-one-approver
    database: "*"
    environment: "*"
    operations: [write]
    max_rows: 2
`,
);

/** Rewrites the token's `max_rows` in claim answers, keeping the bot's signature. */
function liftingFetch(lift: () => boolean): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    if (!lift() || !String(input instanceof Request ? input.url : input).endsWith("/claim") || !res.ok)
      return res;
    const claim = (await res.json()) as ClaimResponse;
    const [h, p, s] = claim.token.split(".") as [string, string, string];
    const claims = JSON.parse(new TextDecoder().decode(fromBase64url(p))) as Record<string, unknown>;
    const lifted = base64url(new TextEncoder().encode(JSON.stringify({ ...claims, max_rows: 1_000_000 })));
    return new Response(JSON.stringify({ ...claim, token: `${h}.${lifted}.${s}` }), {
      status: res.status,
      headers: { "content-type": "application/json" },
    });
  };
}

const table = `dbward_guard_${randomBytes(4).toString("hex")}`;

interface Target {
  readonly name: string;
  readonly database: string;
  readonly environment: string;
  query(sql: string): Promise<number[]>;
}

describe("row guard end to end", () => {
  let h: BotHarness;
  let agent: AgentHandle;
  let lift = false;
  const pgDb = new pg.Client(PG_URL);
  let myDb: mysql.Connection;
  const targets: Target[] = [];

  before(async () => {
    await pgDb.connect();
    myDb = await mysql.createConnection(MARIADB_URL);
    targets.push(
      {
        name: "PostgreSQL",
        database: "shop",
        environment: "staging",
        query: async (sql) => (await pgDb.query<{ n: number }>(sql)).rows.map((r) => Number(r.n)),
      },
      {
        name: "MariaDB",
        database: "legacy",
        environment: "production",
        query: async (sql) => {
          const [rows] = await myDb.query(sql);
          return Array.isArray(rows) ? (rows as { n: number }[]).map((r) => r.n) : [];
        },
      },
    );
    for (const t of targets) {
      await t.query(`CREATE TABLE ${table} (id int PRIMARY KEY, n int NOT NULL)`);
      await t.query(`INSERT INTO ${table} VALUES (1, 0), (2, 0), (3, 0)`);
    }
    h = await startBotHarness(GUARDED_CONFIG);
    agent = await startTestAgent(h, "agent-2", undefined, { fetch: liftingFetch(() => lift) });
  });
  after(async () => {
    await agent.stop();
    await h.stop();
    for (const t of targets) await t.query(`DROP TABLE IF EXISTS ${table}`);
    await pgDb.end();
    await myDb.end();
  });

  async function approvedWrite(t: Target, sql: string): Promise<number> {
    const res = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
      database: t.database,
      environment: t.environment,
      sql,
      reason: "row guard test",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const view = res.body as RequestView;
    assert.equal(view.workflow.row_guard, 2, "the request shows its bound");
    const approved = await h.call(await h.tokenFor("bob"), "POST", `/api/requests/${view.id}/approve`, {});
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    return view.id;
  }

  const values = (t: Target): Promise<number[]> => t.query(`SELECT n FROM ${table} ORDER BY id`);

  for (const name of ["PostgreSQL", "MariaDB"]) {
    const target = (): Target => targets.find((t) => t.name === name) as Target;

    test(`${name}: a write over the bound is rolled back and fails with execution.row_guard`, async () => {
      const t = target();
      const id = await approvedWrite(t, `UPDATE ${table} SET n = n + 1 WHERE id > 0`);
      const done = await waitForStatus(h, id, "failed");
      assert.equal(
        done.executions[0]?.error?.code,
        "execution.row_guard",
        JSON.stringify(done.executions[0]),
      );
      assert.match(done.executions[0]?.error?.message ?? "", /3 rows.*2/);
      assert.deepEqual(await values(t), [0, 0, 0], "nothing committed");
    });

    test(`${name}: a write within the bound commits`, async () => {
      const t = target();
      const id = await approvedWrite(t, `UPDATE ${table} SET n = n + 1 WHERE id <= 2`);
      const done = await waitForStatus(h, id, "succeeded");
      assert.equal(done.executions[0]?.affected_rows, 2);
      assert.deepEqual(await values(t), [1, 1, 0]);
      await t.query(`UPDATE ${table} SET n = 0 WHERE id > 0`);
    });

    test(`${name}: a bound lifted between the bot and the agent is refused, nothing runs`, async () => {
      const t = target();
      lift = true;
      try {
        const id = await approvedWrite(t, `UPDATE ${table} SET n = n + 5 WHERE id > 0`);
        const done = await waitForStatus(h, id, "failed");
        assert.equal(done.executions[0]?.error?.code, "token.bad_signature");
      } finally {
        lift = false;
      }
      assert.deepEqual(await values(t), [0, 0, 0]);
    });
  }
});
