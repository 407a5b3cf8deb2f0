/**
 * A dry run under masks, by the real agent on the real PostgreSQL (a fake bot offers it): the
 * write it runs fails on a unique key, and the report the bot gets keeps the SQLSTATE but not
 * the database's message; without masks the same failure keeps its message.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test, type TestContext } from "node:test";
import mysql from "mysql2/promise";
import pg from "pg";
import {
  encodePublicKey,
  sha256Hex,
  signExecutionToken,
  type PreflightClaimResponse,
  type SignedMask,
} from "@dbward/shared";
import { startAgent } from "../agent/src/agent.ts";
import { loadAgentConfig } from "../agent/src/config.ts";
import { FakeBot, until } from "./support/agent/fake-bot.ts";
import {
  AGENT_ID,
  fixedClock,
  generateSigningKey,
  NOW_MS,
  MARIADB_URL,
  PG_URL,
  silentLogger,
  tempDir,
} from "./support/agent/unit-helpers.ts";

const TABLE = `mask_dry_${process.pid}`;
const admin = new pg.Pool({ connectionString: PG_URL, max: 1 });
const MASKS: SignedMask[] = [
  { schema: null, table: TABLE, column: "email", mode: "full", keep_leading: 0, keep_trailing: 0 },
];

before(async () => {
  await admin.query(`CREATE TABLE ${TABLE} (id int PRIMARY KEY, email text UNIQUE);
    INSERT INTO ${TABLE} VALUES (1, 'alice-dry@example.com'), (2, 'bob-dry@example.com')`);
  const my = await mysql.createConnection({ uri: MARIADB_URL });
  await my.query(`CREATE TABLE ${TABLE} (id int PRIMARY KEY, email varchar(100) UNIQUE) ENGINE = InnoDB`);
  await my.query(`INSERT INTO ${TABLE} VALUES (1, 'alice-dry@example.com'), (2, 'bob-dry@example.com')`);
  await my.end();
});
after(async () => {
  await admin.query(`DROP TABLE IF EXISTS ${TABLE}`);
  await admin.end();
  const my = await mysql.createConnection({ uri: MARIADB_URL });
  await my.query(`DROP TABLE IF EXISTS ${TABLE}`);
  await my.end();
});

async function dryRun(t: TestContext, sql: string, masks: SignedMask[] | undefined, db = "shop") {
  const key = generateSigningKey();
  const config = loadAgentConfig(
    JSON.stringify({
      id: AGENT_ID,
      bot_url: "http://127.0.0.1:9",
      keys: { [key.kid]: encodePublicKey(key) },
      data_dir: join(tempDir(t), "data"),
      databases: [
        {
          name: "shop",
          environment: "production",
          driver: "postgres",
          url_env: "PG",
          operations: ["read", "write"],
          dry_run: true,
        },
        {
          name: "legacy",
          environment: "production",
          driver: "mysql",
          url_env: "MY",
          operations: ["read", "write"],
          dry_run: true,
        },
      ],
    }),
    { DBWARD_AGENT_TOKEN: "agent-secret-token", PG: PG_URL, MY: MARIADB_URL },
  );
  const iat = Math.floor(NOW_MS / 1000);
  const offered: PreflightClaimResponse = {
    preflight_id: `1-dry_run-${Math.random()}`,
    request_id: 1,
    kind: "dry_run",
    token: signExecutionToken(key, {
      jti: `mask-dry-${process.pid}-${Math.random()}`,
      req: 1,
      exe: 0,
      purpose: "dry_run",
      max_rows: null,
      db,
      env: "production",
      op: "write",
      sql_sha256: sha256Hex(sql),
      agent: AGENT_ID,
      iat,
      exp: iat + 300,
      ...(masks === undefined ? {} : { masks }),
    }),
    sql,
    database: db,
    environment: "production",
    operation: "write",
    statement_timeout_ms: 5000,
  };
  const bot = new FakeBot();
  bot.offerPlan(offered);
  const agent = await startAgent(config, {
    fetch: bot.fetch,
    clock: fixedClock(),
    logger: silentLogger,
    minPollIntervalMs: 0,
  });
  t.after(() => agent.stop());
  await until(() => bot.planReports.has(offered.preflight_id), 10_000);
  const body = bot.planReports.get(offered.preflight_id);
  assert.ok(body !== undefined);
  return body;
}

const DUPLICATE = `UPDATE ${TABLE} SET email = 'alice-dry@example.com' WHERE id = 2`;

test("a failed dry run under masks keeps its SQLSTATE, not the database's message", async (t) => {
  const body = await dryRun(t, DUPLICATE, MASKS);
  assert.equal(body.outcome, "failed", JSON.stringify(body));
  assert.match(body.error?.message ?? "", /\(23505\); its message is withheld/);
  assert.ok(!JSON.stringify(body).includes(`${TABLE}_email_key`), JSON.stringify(body));
});

test("without masks the same failed dry run keeps the database's message", async (t) => {
  const body = await dryRun(t, DUPLICATE, undefined);
  assert.equal(body.outcome, "failed");
  assert.match(body.error?.message ?? "", /duplicate key/);
});

test("on MariaDB, whose message quotes the duplicate value, a masked dry run's report holds no value", async (t) => {
  const clear = await dryRun(t, DUPLICATE, undefined, "legacy");
  assert.match(clear.error?.message ?? "", /alice-dry@example\.com/, JSON.stringify(clear));
  const masked = await dryRun(t, DUPLICATE, MASKS, "legacy");
  assert.equal(masked.outcome, "failed", JSON.stringify(masked));
  assert.ok(!JSON.stringify(masked).includes("alice-dry@example.com"), JSON.stringify(masked));
  assert.match(masked.error?.message ?? "", /ER_DUP_ENTRY.*withheld/);
});
