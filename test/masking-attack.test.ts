/**
 * Column masking under attack, on the real PostgreSQL and MariaDB: a requester who wants clear
 * values of a masked column tries (1) to get a token without masks for a statement that reads
 * one — the bot's decision (core/column-masks.ts) over the schema context the real agent
 * collects — and (2) to get clear values through a token with masks — the real job runner and
 * drivers. Every attempt checks the bytes that would leave the agent for a clear value.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { initSqlReview, type SchemaTable, type SignedMask } from "@dbward/shared";
import mysql from "mysql2/promise";
import pg from "pg";
import { masksToSign } from "../bot/src/core/column-masks.ts";
import { maskingPolicySchema } from "../bot/src/config/masking-config.ts";
import { collectMysqlSchema } from "../agent/src/schema/mysql-schema.ts";
import { collectPostgresSchema } from "../agent/src/schema/postgres-schema.ts";
import { MARIADB_URL, PG_URL } from "./support/agent/unit-helpers.ts";
import { maskedClaim, maskingAgent, runMaskedJob, TARGET, type Db } from "./support/masking-agent.ts";

const USERS = "mask_atk_users";
const ORDERS = "mask_atk_orders";
const OTHER = "mask_atk_other";
const TYPES = "mask_atk_types";
const CLEAR = [
  "alice-atk",
  "alice-atk@example.com",
  "bob-atk@example.com",
  "carol-atk@example.com",
  "123-45-6789",
];

const PG_SETUP = [
  `DROP SCHEMA IF EXISTS ${OTHER} CASCADE`,
  `DROP VIEW IF EXISTS "MASK_ATK_ORDERS"`,
  `DROP TABLE IF EXISTS ${ORDERS}, ${USERS}`,
  `CREATE TABLE ${USERS} (id int PRIMARY KEY, email text UNIQUE, ssn text)`,
  `CREATE TABLE ${ORDERS} (id int PRIMARY KEY, note text)`,
  `INSERT INTO ${USERS} VALUES (1, 'alice-atk@example.com', '123-45-6789'), (2, 'bob-atk@example.com', NULL), (3, 'carol-atk@example.com', NULL)`,
  `INSERT INTO ${ORDERS} VALUES (1, 'first')`,
  // Relations named like the unmasked table, holding the masked column's values.
  `CREATE SCHEMA ${OTHER}`,
  `CREATE VIEW ${OTHER}.${ORDERS} AS SELECT id, email AS note FROM public.${USERS}`,
  `CREATE VIEW "MASK_ATK_ORDERS" AS SELECT id, email AS note FROM ${USERS}`,
  `CREATE MATERIALIZED VIEW ${OTHER}.contacts AS SELECT id, email AS addr FROM public.${USERS}`,
  `ANALYZE ${USERS}`,
  `DROP TABLE IF EXISTS ${TYPES}`,
  `CREATE TABLE ${TYPES} (id int, n int, d date, b bytea, j jsonb)`,
  `INSERT INTO ${TYPES} VALUES (1, 987654321, '1999-12-31', 'secret-bytes', '{"k": "value-atk-json"}')`,
];
const PG_TEARDOWN = [
  `DROP SCHEMA IF EXISTS ${OTHER} CASCADE`,
  `DROP VIEW IF EXISTS "MASK_ATK_ORDERS"`,
  `DROP TABLE IF EXISTS ${ORDERS}, ${USERS}, ${TYPES}`,
];
const MY_SETUP = [
  `DROP DATABASE IF EXISTS ${OTHER}`,
  `DROP VIEW IF EXISTS MASK_ATK_ORDERS`,
  `DROP TABLE IF EXISTS ${ORDERS}, ${USERS}`,
  `CREATE TABLE ${USERS} (id int PRIMARY KEY, email varchar(100) UNIQUE, ssn varchar(20))`,
  `CREATE TABLE ${ORDERS} (id int PRIMARY KEY, note varchar(100))`,
  `INSERT INTO ${USERS} VALUES (1, 'alice-atk@example.com', '123-45-6789'), (2, 'bob-atk@example.com', NULL), (3, 'carol-atk@example.com', NULL)`,
  `INSERT INTO ${ORDERS} VALUES (1, 'first')`,
  `CREATE DATABASE ${OTHER}`,
  `CREATE VIEW ${OTHER}.${ORDERS} AS SELECT id, email AS note FROM test.${USERS}`,
  `CREATE VIEW MASK_ATK_ORDERS AS SELECT id, email AS note FROM ${USERS}`,
  // Engine-independent statistics: mysql.column_stats keeps each column's min and max value.
  `ANALYZE TABLE ${USERS} PERSISTENT FOR ALL`,
  `DROP TABLE IF EXISTS ${TYPES}`,
  `CREATE TABLE ${TYPES} (id int, n int, d date, b blob, j json)`,
  `INSERT INTO ${TYPES} VALUES (1, 987654321, '1999-12-31', 'secret-bytes', '{"k": "value-atk-json"}')`,
];
const MY_TEARDOWN = [
  `DROP DATABASE IF EXISTS ${OTHER}`,
  `DROP VIEW IF EXISTS MASK_ATK_ORDERS`,
  `DROP TABLE IF EXISTS ${ORDERS}, ${USERS}, ${TYPES}`,
  `DELETE FROM mysql.column_stats WHERE db_name = 'test' AND table_name = '${USERS}'`,
];

const POLICIES = [
  {
    database: "*",
    environment: "production",
    table: USERS,
    column: "email",
    mode: "partial",
    keep_leading: 1,
    keep_trailing: 4,
  },
  { database: "*", environment: "production", table: USERS, column: "ssn", mode: "full" },
  {
    database: "*",
    environment: "production",
    table: TYPES,
    column: "n",
    mode: "partial",
    keep_leading: 1,
    keep_trailing: 1,
  },
  { database: "*", environment: "production", table: TYPES, column: "d", mode: "hash" },
  {
    database: "*",
    environment: "production",
    table: TYPES,
    column: "b",
    mode: "partial",
    keep_leading: 1,
    keep_trailing: 1,
  },
  { database: "*", environment: "production", table: TYPES, column: "j", mode: "full" },
].map((p) => maskingPolicySchema.parse(p));

const schemas: Partial<Record<Db, SchemaTable[]>> = {};

before(async () => {
  await initSqlReview();
  const pgc = new pg.Client({ connectionString: PG_URL });
  await pgc.connect();
  for (const s of PG_SETUP) await pgc.query(s);
  await pgc.end();
  const my = await mysql.createConnection({ uri: MARIADB_URL });
  for (const s of MY_SETUP) await my.query(s);
  await my.end();
  // The schema contexts exactly as the agent reports them.
  const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
  schemas.pg = (await collectPostgresSchema(pool)).tables;
  await pool.end();
  const mpool = mysql.createPool({ uri: MARIADB_URL, connectionLimit: 1 });
  schemas.maria = (await collectMysqlSchema(mpool.pool as never)).tables;
  await mpool.end();
});

after(async () => {
  const pgc = new pg.Client({ connectionString: PG_URL });
  await pgc.connect();
  for (const s of PG_TEARDOWN) await pgc.query(s);
  await pgc.end();
  const my = await mysql.createConnection({ uri: MARIADB_URL });
  for (const s of MY_TEARDOWN) await my.query(s);
  await my.end();
});

function agentDeps(t: { after(fn: () => void | Promise<void>): void }) {
  return maskingAgent(t, "k".repeat(40));
}

type Deps = ReturnType<typeof agentDeps>;

/** The masks the bot would sign for this requester (no role sees clear values). */
function botMasks(db: Db, sql: string, context: "reported" | "none" = "reported"): SignedMask[] | undefined {
  return masksToSign({
    policies: POLICIES,
    database: TARGET[db],
    environment: "production",
    dialect: db === "pg" ? "postgres" : "mysql",
    sql,
    requester: { roles: ["requester"], groups: [] },
    schema: context === "reported" ? schemas[db] : undefined,
  });
}

/** Runs `sql` through the real agent with the masks the bot signs; returns everything sent. */
async function attack(d: Deps, db: Db, sql: string, op: "read" | "write" = "read") {
  const masks = botMasks(db, sql);
  const { body, wire } = await runMaskedJob(d.deps, maskedClaim(d.key, db, sql, masks, op));
  return { body, wire: `${wire}\n${JSON.stringify(body)}`, masks };
}

/** Clear values, also as a binary column's base64 (MariaDB's column_stats are VARBINARY). */
function assertNoClear(sql: string, wire: string): void {
  for (const v of CLEAR) {
    assert.ok(!wire.includes(v), `${sql}: clear value ${v} left the agent: ${wire}`);
    const b64 = Buffer.from(v).toString("base64").slice(0, 16);
    assert.ok(!wire.includes(b64), `${sql}: clear value ${v} left the agent in base64: ${wire}`);
  }
}

/** Attacks that must leave no clear value whether they run or fail. */
const PG_READS = [
  // The bot's decision to sign: relations named like the unmasked table.
  `SELECT note FROM ${OTHER}.${ORDERS}`,
  `SELECT note FROM "MASK_ATK_ORDERS"`,
  `SELECT note FROM ${ORDERS} UNION ALL SELECT note FROM ${OTHER}.${ORDERS}`,
  `SELECT addr FROM ${OTHER}.contacts`,
  // Statistics and catalogues.
  `SELECT most_common_vals, histogram_bounds FROM pg_stats WHERE tablename = '${USERS}'`,
  `SELECT stavalues1, stavalues2, stavalues3 FROM pg_statistic WHERE starelid = '${USERS}'::regclass`,
  // Tracing through transformations, rows and containers.
  `SELECT e FROM (SELECT email || '' AS e FROM ${USERS}) s`,
  `SELECT DISTINCT ON (id) email FROM ${USERS} ORDER BY id`,
  `WITH m AS MATERIALIZED (SELECT email FROM ${USERS}) SELECT email FROM m`,
  `SELECT ARRAY[email] FROM ${USERS}`,
  `SELECT u FROM ${USERS} u`,
  `SELECT (u).email FROM ${USERS} u`,
  `SELECT to_jsonb(u), row_to_json(u) FROM ${USERS} u`,
  `SELECT json_agg(email) FROM ${USERS}`,
  `SELECT xmlforest(email) FROM ${USERS}`,
  `TABLE ${USERS}`,
  `SELECT ${USERS} FROM ${USERS}`,
  `SELECT x.email FROM ${ORDERS} o, LATERAL (SELECT email FROM ${USERS} WHERE id = o.id) x`,
  `SELECT note FROM ${ORDERS} UNION SELECT email FROM ${USERS}`,
  `SELECT first_value(email) OVER (ORDER BY id) FROM ${USERS}`,
  `SELECT * FROM (VALUES (1)) v(n), ${USERS}`,
  `SELECT unnest(ARRAY(SELECT email FROM ${USERS}))`,
  // Error messages quoting the value.
  `SELECT email::int FROM ${USERS}`,
  `SELECT email::regclass FROM ${USERS}`,
  `SELECT email::regproc FROM ${USERS}`,
  `SELECT split_part(email, '@', 1)::regclass FROM ${USERS}`,
  `SELECT split_part(email, '@', 1)::regproc FROM ${USERS}`,
  `SELECT 1 / (length(email) - length(email)) FROM ${USERS}`,
];
const MY_READS = [
  `SELECT note FROM ${OTHER}.${ORDERS}`,
  `SELECT note FROM MASK_ATK_ORDERS`,
  `SELECT note FROM ${ORDERS} UNION SELECT email FROM ${USERS}`,
  `SELECT note FROM ${ORDERS} UNION ALL SELECT note FROM ${OTHER}.${ORDERS}`,
  `SELECT ${OTHER}.${ORDERS}.note FROM ${ORDERS} o JOIN ${OTHER}.${ORDERS} ON ${OTHER}.${ORDERS}.id > o.id`,
  `SELECT ${ORDERS}.note FROM ${ORDERS} o JOIN MASK_ATK_ORDERS AS ${ORDERS} ON ${ORDERS}.id > o.id`,
  `SELECT min_value, max_value FROM mysql.column_stats WHERE table_name = '${USERS}'`,
  `SELECT email FROM ${USERS} AS ${ORDERS}`,
  `SELECT note FROM (SELECT email AS note FROM ${USERS}) AS ${ORDERS}`,
  `SELECT o.note FROM ${ORDERS} JOIN (SELECT id, email AS note FROM ${USERS}) AS o USING (id)`,
  `SELECT JSON_OBJECT('e', email) FROM ${USERS}`,
  `SELECT GROUP_CONCAT(email) FROM ${USERS}`,
  `SELECT FIRST_VALUE(email) OVER (ORDER BY id) FROM ${USERS}`,
  `TABLE ${USERS}`,
  `SELECT email FROM test.${USERS}`,
  `SELECT CAST(email AS SIGNED) FROM ${USERS}`,
  `SELECT email FROM ${USERS} WHERE email = 0`,
];

for (const db of ["pg", "maria"] as const) {
  describe(`column masking under attack (${db === "pg" ? "PostgreSQL" : "MariaDB"})`, () => {
    for (const sql of db === "pg" ? PG_READS : MY_READS) {
      test(`leaks no clear value: ${sql}`, async (t) => {
        const { wire, masks } = await attack(agentDeps(t), db, sql);
        assert.ok(masks !== undefined, `${sql}: the bot signed no masks`);
        assertNoClear(sql, wire);
      });
    }

    test("a write's RETURNING of a masked column is masked", async (t) => {
      const sql =
        db === "pg"
          ? `UPDATE ${USERS} SET ssn = ssn WHERE id = 1 RETURNING email`
          : `DELETE FROM ${USERS} WHERE id = 3 RETURNING email`;
      const { body, wire } = await attack(agentDeps(t), db, sql, "write");
      assert.equal(body.outcome, "succeeded", wire);
      assertNoClear(sql, wire);
    });

    test("a write failing over a masked value quotes no value", async (t) => {
      const sql =
        db === "pg"
          ? `UPDATE ${USERS} SET ssn = email::int WHERE id = 1`
          : `UPDATE ${USERS} SET ssn = CAST(email AS DECIMAL) WHERE id = 1`;
      const { body, wire } = await attack(agentDeps(t), db, sql, "write");
      assert.equal(body.outcome, "failed", wire);
      assertNoClear(sql, wire);
    });

    test("a value put in the session by one job is gone for the next", async (t) => {
      const d = agentDeps(t);
      const stash =
        db === "pg"
          ? `SELECT set_config('atk.v', (SELECT email FROM ${USERS} WHERE id = 1), false)`
          : `SET @v = (SELECT email FROM ${USERS} WHERE id = 1)`;
      await attack(d, db, stash, "write");
      const read = db === "pg" ? "SELECT current_setting('atk.v', true)" : "SELECT @v";
      const { body, wire } = await attack(d, db, read);
      assert.equal(body.outcome, "succeeded", wire);
      assertNoClear(read, wire);
    });

    test("masks numbers, dates, binary and JSON values in each mode", async (t) => {
      const sql = `SELECT n, d, b, j FROM ${TYPES}`;
      const { body, wire } = await attack(agentDeps(t), db, sql);
      assert.equal(body.outcome, "succeeded", wire);
      for (const v of ["987654321", "1999-12-31", "secret-bytes", "value-atk-json"]) {
        for (const form of [v, Buffer.from(v).toString("hex"), Buffer.from(v).toString("base64")])
          assert.ok(!wire.includes(form), `${v} left the agent as ${form}: ${wire}`);
      }
      const row = JSON.parse(wire.split("\n").find((l) => l.startsWith("[")) ?? "[]") as unknown[];
      assert.equal(row[0], "9****1");
      assert.match(String(row[1]), /^hmac:[0-9a-f]{32}$/);
      assert.equal(row[3], "****");
    });

    test("refuses a request that switches search_path or database to shadow a reported table", async (t) => {
      const sql =
        db === "pg"
          ? `SET search_path = ${OTHER}, public; SELECT note FROM ${ORDERS}`
          : `USE ${OTHER}; SELECT note FROM ${ORDERS}`;
      for (const op of ["read", "write"] as const) {
        const { body, wire } = await attack(agentDeps(t), db, sql, op);
        assert.equal(body.outcome, "refused", wire);
        assertNoClear(sql, wire);
      }
    });

    test("keeps a safe error message that quotes only the statement", async (t) => {
      const sql = `SELECT id FROM ${USERS} WHERE emial = 'x'`;
      const { body } = await attack(agentDeps(t), db, sql);
      assert.equal(body.outcome, "failed");
      assert.match(body.error?.message ?? "", /emial/);
    });

    test("with no schema context reported yet, any read of a relation carries the masks", () => {
      assert.ok(botMasks(db, `SELECT note FROM ${OTHER}.${ORDERS}`, "none") !== undefined);
      assert.ok(botMasks(db, `SELECT id FROM ${ORDERS}`, "none") !== undefined);
    });

    test("an unmasked table's read stays unmasked (no masks signed)", async (t) => {
      const sql = `SELECT id, note FROM ${ORDERS}`;
      const { body, wire, masks } = await attack(agentDeps(t), db, sql);
      assert.equal(masks, undefined);
      assert.equal(body.outcome, "succeeded");
      assert.ok(wire.includes("first"), wire);
    });
  });
}
