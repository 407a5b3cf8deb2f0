/**
 * Column masking at the agent, on the real PostgreSQL and MariaDB: jobs run through the real job
 * runner and drivers with tokens really signed with a `masks` claim, and the rows that would go
 * to the bot are checked. Masks apply by each column's origin (an alias, a subquery or a CTE
 * keeps it; a view's column, an expression, a CTE MariaDB cannot trace are masked in full),
 * database errors that could quote a value are withheld, and a malformed claim or a policy
 * naming a column the database lacks fails closed.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  base64url,
  canonicalJson,
  initSqlReview,
  sign,
  type ClaimResponse,
  type SignedMask,
  type SigningKey,
} from "@dbward/shared";
import mysql from "mysql2/promise";
import pg from "pg";
import { Secret } from "../agent/src/secret.ts";
import { MARIADB_URL, PG_URL } from "./support/agent/unit-helpers.ts";
import {
  maskedClaim,
  maskingAgent,
  runMaskedJob,
  type Db,
  type MaskingAgentDeps,
} from "./support/masking-agent.ts";

const MASKING_KEY = "k".repeat(40);

const mask = (
  table: string,
  column: string,
  mode: SignedMask["mode"],
  keep: [number, number] = [0, 0],
): SignedMask => ({ schema: null, table, column, mode, keep_leading: keep[0], keep_trailing: keep[1] });

const MASKS: SignedMask[] = [
  mask("mask_users", "email", "partial", [1, 4]),
  mask("mask_users", "ssn", "full"),
  mask("mask_users", "phone", "hash"),
  mask("mask_users", "note", "null"),
];

const SETUP = [
  "DROP VIEW IF EXISTS mask_users_v",
  "DROP TABLE IF EXISTS mask_orders",
  "DROP TABLE IF EXISTS mask_users",
  "CREATE TABLE mask_users (id int PRIMARY KEY, email varchar(100) UNIQUE, ssn varchar(20), phone varchar(20), note varchar(50), age int CHECK (age < 150))",
  "CREATE TABLE mask_orders (id int PRIMARY KEY, user_id int, email varchar(100), note varchar(50))",
  "CREATE VIEW mask_users_v AS SELECT id, email FROM mask_users",
  "INSERT INTO mask_users VALUES (1, 'alice@example.com', '123-45-6789', '555-0100', 'vip', 30), (2, 'bob@example.com', '987-65-4321', '555-0100', 'x', 40)",
  "INSERT INTO mask_orders VALUES (10, 1, 'orders-clear@example.com', 'first order')",
];
const TEARDOWN = [
  "DROP VIEW IF EXISTS mask_users_v",
  "DROP TABLE IF EXISTS mask_orders",
  "DROP TABLE IF EXISTS mask_users",
];

let key: SigningKey;

before(async () => {
  await initSqlReview();
  const pgc = new pg.Client({ connectionString: PG_URL });
  await pgc.connect();
  for (const s of SETUP) await pgc.query(s);
  await pgc.end();
  const my = await mysql.createConnection({ uri: MARIADB_URL });
  for (const s of SETUP) await my.query(s);
  await my.end();
});

after(async () => {
  const pgc = new pg.Client({ connectionString: PG_URL });
  await pgc.connect();
  for (const s of TEARDOWN) await pgc.query(s);
  await pgc.end();
  const my = await mysql.createConnection({ uri: MARIADB_URL });
  for (const s of TEARDOWN) await my.query(s);
  await my.end();
});

function setup(t: { after(fn: () => void | Promise<void>): void }, withKey = true) {
  const agent = maskingAgent(t, withKey ? MASKING_KEY : undefined);
  key = agent.key;
  return agent.deps;
}

/** A claim with a really signed token carrying `masks` (or a raw `masks` value when `raw`). */
function claim(
  db: Db,
  sql: string,
  masks: unknown,
  op: "read" | "write" = "read",
  raw = false,
): ClaimResponse {
  return raw
    ? maskedClaim(key, db, sql, undefined, op, (claims) =>
        forgeSigned(key, { ...claims, ver: 2, kid: key.kid, masks }),
      )
    : maskedClaim(key, db, sql, masks as SignedMask[] | undefined, op);
}

/** A token signed by the pinned key over claims the signer itself would refuse to make. */
function forgeSigned(k: SigningKey, claims: Record<string, unknown>): string {
  const enc = (v: unknown): string => base64url(new TextEncoder().encode(canonicalJson(v)));
  const input = `${enc({ alg: "EdDSA", kid: k.kid, typ: "dbward-exec+jwt" })}.${enc(claims)}`;
  return `${input}.${base64url(sign(k, new TextEncoder().encode(input)))}`;
}

async function run(deps: MaskingAgentDeps, c: ClaimResponse) {
  const { body, wire } = await runMaskedJob(deps, c);
  // NDJSON rows; a COPY read's CSV chunks (no masks) are left to `wire`.
  const rows = wire
    .split("\n")
    .filter((l) => l.startsWith("["))
    .map((l) => JSON.parse(l) as unknown[]);
  return { body, rows, wire };
}

const CLEAR = ["alice@example.com", "bob@example.com", "123-45-6789", "987-65-4321", "555-0100", "vip"];

function assertNoClear(wire: string): void {
  for (const v of CLEAR) assert.ok(!wire.includes(v), `clear value ${v} left the agent: ${wire}`);
}

for (const db of ["pg", "maria"] as const) {
  describe(`column masking at the agent (${db === "pg" ? "PostgreSQL" : "MariaDB"})`, () => {
    test("applies each mode: partial keeps its characters, full hides, hash is stable, null is NULL", async (t) => {
      const deps = setup(t);
      const { body, rows, wire } = await run(
        deps,
        claim(db, "SELECT id, email, ssn, phone, note FROM mask_users ORDER BY id", MASKS),
      );
      assert.equal(body.outcome, "succeeded", JSON.stringify(body));
      assertNoClear(wire);
      const [a, b] = rows as [unknown[], unknown[]];
      assert.deepEqual(a.slice(0, 3), [1, "a****.com", "****"]);
      assert.deepEqual(b.slice(0, 3), [2, "b****.com", "****"]);
      // Both users have the same phone: equal values hash equal.
      assert.match(String(a[3]), /^hmac:[0-9a-f]{32}$/);
      assert.equal(a[3], b[3]);
      assert.deepEqual([a[4], b[4]], [null, null]);
    });

    test("a hash is keyed: another agent key gives another hash, and no key refuses the job", async (t) => {
      const first = await run(setup(t), claim(db, "SELECT phone FROM mask_users WHERE id = 1", MASKS));
      const other = setup(t);
      const otherDeps = {
        ...other,
        config: Object.freeze({ ...other.config, maskingKey: new Secret("z".repeat(40)) }),
      };
      const second = await run(otherDeps, claim(db, "SELECT phone FROM mask_users WHERE id = 1", MASKS));
      assert.notEqual(first.rows[0]?.[0], second.rows[0]?.[0]);
      const none = await run(setup(t, false), claim(db, "SELECT phone FROM mask_users WHERE id = 1", MASKS));
      assert.equal(none.body.outcome, "refused");
      assert.equal(none.body.error?.code, "config.invalid");
    });

    test("without masks in the token (a role allowed clear values) the values are clear", async (t) => {
      // Unmasked, PostgreSQL reads through COPY, whose chunks are CSV: look for the value itself.
      const { body, wire } = await run(
        setup(t),
        claim(db, "SELECT email FROM mask_users WHERE id = 1", undefined),
      );
      assert.equal(body.outcome, "succeeded");
      assert.ok(wire.includes("alice@example.com"), wire);
    });

    test("follows an alias, a join with the same column name in two tables, and SELECT *", async (t) => {
      const deps = setup(t);
      const alias = await run(deps, claim(db, "SELECT email AS e FROM mask_users WHERE id = 1", MASKS));
      assert.deepEqual(alias.rows, [["a****.com"]]);
      const join = await run(
        deps,
        claim(db, "SELECT u.email, o.email FROM mask_users u JOIN mask_orders o ON o.user_id = u.id", MASKS),
      );
      // The orders table's email is not masked: it stays clear, the users' one does not.
      assert.deepEqual(join.rows, [["a****.com", "orders-clear@example.com"]]);
      const star = await run(deps, claim(db, "SELECT * FROM mask_users WHERE id = 1", MASKS));
      assert.deepEqual(star.rows, [[1, "a****.com", "****", star.rows[0]?.[3], null, 30]]);
      assertNoClear(star.wire);
    });

    test("masks a subquery's and a CTE's columns (in full where MariaDB cannot trace them)", async (t) => {
      const deps = setup(t);
      const sub = await run(
        deps,
        claim(db, "SELECT x.email FROM (SELECT email FROM mask_users WHERE id = 1) x", MASKS),
      );
      const cte = await run(
        deps,
        claim(db, "WITH c AS (SELECT email FROM mask_users WHERE id = 1) SELECT email FROM c", MASKS),
      );
      // A CTE named like an unmasked table cannot pass a masked column off as that table's.
      const disguised = await run(
        deps,
        claim(
          db,
          "WITH mask_orders AS (SELECT email AS note FROM mask_users WHERE id = 1) SELECT note FROM mask_orders",
          MASKS,
        ),
      );
      const traced = db === "pg" ? "a****.com" : "****";
      assert.deepEqual(sub.rows, [[traced]]);
      assert.deepEqual(cte.rows, [[traced]]);
      assert.deepEqual(disguised.rows, [[traced]]);
    });

    test("masks a view's column and an expression over a masked column in full", async (t) => {
      const deps = setup(t);
      const view = await run(deps, claim(db, "SELECT id, email FROM mask_users_v WHERE id = 1", MASKS));
      assert.deepEqual(view.rows, [["****", "****"]]);
      const expr = await run(deps, claim(db, "SELECT lower(email), id FROM mask_users WHERE id = 1", MASKS));
      assert.deepEqual(expr.rows, [["****", 1]]);
    });

    test("masks a UNION's columns in full (and on PostgreSQL a whole row)", async (t) => {
      const deps = setup(t);
      const union = await run(
        deps,
        claim(db, "SELECT email FROM mask_users WHERE id = 1 UNION SELECT email FROM mask_orders", MASKS),
      );
      assert.equal(union.body.outcome, "succeeded", JSON.stringify(union.body));
      assert.deepEqual(union.rows, [["****"], ["****"]]);
      if (db === "pg") {
        const row = await run(deps, claim(db, "SELECT u FROM mask_users u WHERE id = 1", MASKS));
        assert.deepEqual(row.rows, [["****"]]);
        assertNoClear(row.wire);
      }
    });

    test("withholds a unique violation's and an invalid input's message, keeping the code", async (t) => {
      const deps = setup(t);
      const dup = await run(
        deps,
        claim(db, "UPDATE mask_users SET email = 'alice@example.com' WHERE id = 2", MASKS, "write"),
      );
      assert.equal(dup.body.outcome, "failed");
      assert.ok(!JSON.stringify(dup.body).includes("alice@example.com"), JSON.stringify(dup.body));
      assert.match(dup.body.error?.message ?? "", db === "pg" ? /SQLSTATE 23505/ : /error ER_DUP_ENTRY/);
      const sql =
        db === "pg"
          ? "SELECT ssn::int FROM mask_users WHERE id = 1"
          : "SELECT CAST(ssn AS DECIMAL(5)) FROM mask_users WHERE id = 1";
      if (db === "pg") {
        const bad = await run(deps, claim(db, sql, MASKS));
        assert.equal(bad.body.outcome, "failed");
        assert.ok(!JSON.stringify(bad.body).includes("123-45-6789"), JSON.stringify(bad.body));
        assert.match(bad.body.error?.message ?? "", /SQLSTATE 22P02/);
      }
      // A check constraint's failing row (DETAIL on PostgreSQL) never leaves; the code does.
      const check = await run(
        deps,
        claim(db, "UPDATE mask_users SET age = 200 WHERE id = 1", MASKS, "write"),
      );
      assert.equal(check.body.outcome, "failed");
      assert.ok(!JSON.stringify(check.body).includes("alice@example.com"), JSON.stringify(check.body));
      assert.match(check.body.error?.message ?? "", db === "pg" ? /SQLSTATE 23514/ : /withheld/);
      // Unmasked, the same unique violation keeps the database's words.
      const clear = await run(
        deps,
        claim(db, "UPDATE mask_users SET email = 'alice@example.com' WHERE id = 2", undefined, "write"),
      );
      assert.match(clear.body.error?.message ?? "", /alice@example\.com|duplicate|Duplicate/);
    });

    test("refuses a policy naming a column the database does not have, without running", async (t) => {
      const { body } = await run(
        setup(t),
        claim(db, "SELECT id FROM mask_users", [mask("mask_users", "emial", "full")]),
      );
      assert.equal(body.outcome, "refused");
      assert.equal(body.error?.code, "masking.unknown_column");
      assert.match(body.error?.message ?? "", /mask_users\.emial/);
    });

    test("refuses a token whose masks claim is malformed", async (t) => {
      const deps = setup(t);
      for (const bad of [
        [],
        [{ ...mask("mask_users", "email", "full"), keep_leading: 2 }],
        [{ ...mask("mask_users", "email", "full"), mode: "rot13" }],
        [{ ...mask("mask_users", "email", "full"), extra: 1 }],
        "mask_users.email",
      ]) {
        const { body } = await run(deps, claim(db, "SELECT email FROM mask_users", bad, "read", true));
        assert.equal(body.outcome, "refused", JSON.stringify(bad));
        assert.equal(body.error?.code, "token.malformed", JSON.stringify(bad));
      }
    });
  });
}

describe("column masking at the agent (PostgreSQL partitions)", () => {
  test("a partition's column is unproven: a mask on the parent covers its rows", async (t) => {
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`DROP TABLE IF EXISTS mask_events;
      CREATE TABLE mask_events (id int, email text) PARTITION BY RANGE (id);
      CREATE TABLE mask_events_1 PARTITION OF mask_events FOR VALUES FROM (0) TO (100);
      INSERT INTO mask_events VALUES (1, 'alice@example.com')`);
    t.after(async () => {
      await admin.query("DROP TABLE IF EXISTS mask_events");
      await admin.end();
    });
    const deps = setup(t);
    const masks = [mask("mask_events", "email", "partial", [1, 4])];
    const parent = await run(deps, claim("pg", "SELECT email FROM mask_events", masks));
    assert.deepEqual(parent.rows, [["a****.com"]]);
    const child = await run(deps, claim("pg", "SELECT email FROM mask_events_1", masks));
    assert.deepEqual(child.rows, [["****"]]);
  });
});
