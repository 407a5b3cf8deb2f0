/**
 * Column masking end to end: the bot signs the masks its policies give a requester into the
 * execution token, the real agent masks the rows on the real PostgreSQL and MariaDB, and no
 * clear value of a masked column reaches the bot — its stored result, its state files, the CSV
 * download. A role allowed clear values reads them; a read that filters on a masked column is
 * not auto-approved and the approver is told why; a policy naming a column the database lacks
 * fails the read (masking.unknown_column) instead of running it unmasked.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { loadAgentConfig, startAgent, type AgentHandle } from "@dbward/agent";
import { base64url, type RequestView } from "@dbward/shared";
import mysql from "mysql2/promise";
import pg from "pg";
import { pino } from "pino";
import { MARIADB_URL, PG_URL } from "./support/agent-harness.ts";
import { startBotHarness, TEST_CONFIG, type BotHarness } from "./support/bot-harness.ts";
import { checkBot } from "../cli/src/doctor/bot-doctor.ts";
import { waitFor, waitForStatus } from "./support/wait.ts";

const TABLE = "mask_e2e_users";
const CONFIG = `${TEST_CONFIG}
masking:
  policies:
    - { database: "*", environment: production, table: ${TABLE}, column: email, mode: partial, keep_leading: 1, keep_trailing: 4, clear_for: { roles: [approver] } }
    - { database: "*", environment: production, table: ${TABLE}, column: ssn, mode: hash, clear_for: { roles: [approver] } }
    - { database: shop, environment: staging, table: ${TABLE}, column: emial, mode: full }
`;
const SETUP = [
  `DROP TABLE IF EXISTS ${TABLE}`,
  `CREATE TABLE ${TABLE} (id int PRIMARY KEY, email varchar(100), ssn varchar(20))`,
  `INSERT INTO ${TABLE} VALUES (1, 'alice-e2e@example.com', '123-45-6789'), (2, 'bob-e2e@example.com', '987-65-4321')`,
];
const CLEAR = ["alice-e2e@example.com", "bob-e2e@example.com", "123-45-6789", "987-65-4321"];

function startMaskingAgent(h: BotHarness): Promise<AgentHandle> {
  const yaml = [
    "id: agent-1",
    `bot_url: ${h.url}`,
    "keys:",
    `  ${h.bot.signingKey.kid}: ${base64url(h.bot.signingKey.publicKey)}`,
    `data_dir: ${join(h.dataDir, "agent-1")}`,
    "poll_wait_ms: 2000",
    "masking_key_env: MASKING_KEY",
    "databases:",
    "  - { name: shop, environment: production, driver: postgres, url_env: PG, operations: [read, write] }",
    "  - { name: shop, environment: staging, driver: postgres, url_env: PG, operations: [read, write] }",
    "  - { name: legacy, environment: production, driver: mysql, url_env: MARIA, operations: [read, write] }",
  ].join("\n");
  const env = {
    DBWARD_AGENT_TOKEN: h.agentTokens["agent-1"] ?? "",
    PG: PG_URL,
    MARIA: MARIADB_URL,
    MASKING_KEY: "e2e-masking-key-0123456789abcdef-0123",
  };
  return startAgent(loadAgentConfig(yaml, env, "agent-1 config"), { logger: pino({ level: "silent" }) });
}

/** Every file under `dir`, as bytes. */
function filesUnder(dir: string): { path: string; bytes: Buffer }[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "agent-1" ? [] : filesUnder(path);
    return [{ path, bytes: readFileSync(path) }];
  });
}

describe("column masking end to end", () => {
  let h: BotHarness;
  let agent: AgentHandle;

  before(async () => {
    const pgc = new pg.Client({ connectionString: PG_URL });
    await pgc.connect();
    for (const s of SETUP) await pgc.query(s);
    await pgc.end();
    const my = await mysql.createConnection({ uri: MARIADB_URL });
    for (const s of SETUP) await my.query(s);
    await my.end();
    h = await startBotHarness(CONFIG);
    agent = await startMaskingAgent(h);
  });
  after(async () => {
    await agent.stop();
    await h.stop();
    const pgc = new pg.Client({ connectionString: PG_URL });
    await pgc.connect();
    await pgc.query(`DROP TABLE IF EXISTS ${TABLE}`);
    await pgc.end();
    const my = await mysql.createConnection({ uri: MARIADB_URL });
    await my.query(`DROP TABLE IF EXISTS ${TABLE}`);
    await my.end();
  });

  async function create(
    user: string,
    database: string,
    environment: string,
    sql: string,
  ): Promise<RequestView> {
    const res = await h.call(await h.tokenFor(user), "POST", "/api/requests", {
      database,
      environment,
      sql,
      reason: "test",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as RequestView;
  }

  async function csv(user: string, id: number): Promise<string> {
    const res = await fetch(`${h.url}/api/requests/${id}/result?format=csv`, {
      headers: { authorization: `Bearer ${await h.tokenFor(user)}` },
    });
    assert.equal(res.status, 200);
    return res.text();
  }

  for (const database of ["shop", "legacy"]) {
    test(`${database}: the requester's CSV and the bot's stored state hold no clear masked value`, async () => {
      const r = await create(
        "alice",
        database,
        "production",
        `SELECT id, email AS contact, ssn FROM ${TABLE} ORDER BY id`,
      );
      await waitForStatus(h, r.id, "succeeded", 60_000);
      const text = await csv("alice", r.id);
      const lines = text.trim().split(/\r?\n/);
      assert.equal(lines[0], "id,contact,ssn");
      assert.match(lines[1] ?? "", /^1,a\*\*\*\*\.com,hmac:[0-9a-f]{32}$/);
      assert.match(lines[2] ?? "", /^2,b\*\*\*\*\.com,hmac:[0-9a-f]{32}$/);
      for (const f of filesUnder(h.dataDir))
        for (const v of CLEAR) assert.ok(!f.bytes.includes(v), `${f.path} holds the clear value ${v}`);
    });
  }

  test("a requester whose role is allowed clear values reads them", async () => {
    const r = await create("dave", "shop", "production", `SELECT email FROM ${TABLE} WHERE id = 1`);
    await waitForStatus(h, r.id, "succeeded", 60_000);
    assert.match(await csv("dave", r.id), /alice-e2e@example\.com/);
  });

  for (const [what, sql] of [
    ["filters on", `SELECT id FROM ${TABLE} WHERE email LIKE 'a%'`],
    ["orders by", `SELECT id FROM ${TABLE} ORDER BY ssn`],
    ["groups by", `SELECT count(*) FROM ${TABLE} GROUP BY email`],
  ] as const) {
    test(`a read that ${what} a masked column is not auto-approved, and the approver is told why`, async () => {
      const r = await create("alice", "shop", "production", sql);
      assert.equal(r.status, "pending_approval");
      const finding = r.review.findings.find((f) => f.rule === "masked_column_use");
      assert.ok(finding, JSON.stringify(r.review.findings));
      assert.match(finding.message, new RegExp(`${TABLE}\\.(email|ssn)`));
    });
  }

  test("a policy naming a column the database lacks fails the read instead of running it unmasked", async () => {
    const r = await create("alice", "shop", "staging", `SELECT id, email FROM ${TABLE}`);
    const done = await waitForStatus(h, r.id, "failed", 60_000);
    assert.match(JSON.stringify(done), /masking\.unknown_column/);
  });

  test(
    "dbward doctor reports the policy naming a missing column once the agent reported the schema",
    { skip: process.env.DBWARD_TEST_STATE === "postgres" ? "reads the SQLite state file" : false },
    async () => {
      const file = join(h.dataDir, "masking-bot.yml");
      writeFileSync(file, CONFIG);
      // The agent reports each database's schema at its start.
      await waitFor("the staging schema context", async () => {
        const res = await h.call(await h.tokenFor("alice"), "GET", "/api/schema/shop/staging");
        return res.status === 200 ? true : undefined;
      });
      // The harness runs the bot in <dataDir>/bot.
      const all = await checkBot(file, {}, { dataDir: join(h.dataDir, "bot") });
      const checks = all.filter((c) => c.what === "masking policies");
      const failed = checks.filter((c) => c.status === "fail");
      assert.equal(failed.length, 1, JSON.stringify(checks));
      assert.match(failed[0]?.detail ?? "", /shop\/staging: .*mask_e2e_users\.emial/);
      assert.ok(
        !checks.some((c) => c.status === "fail" && /production/.test(c.detail)),
        JSON.stringify(checks),
      );
    },
  );
});
