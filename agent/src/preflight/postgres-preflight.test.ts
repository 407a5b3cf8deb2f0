/**
 * EXPLAIN and dry runs on the real PostgreSQL: a plan never runs its statement, a dry run counts
 * exactly what the real statement changes and leaves no row changed and no lock held, a lock
 * held elsewhere makes it give up quickly, and refused texts reach nothing.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { DbwardError, initSqlReview } from "@dbward/shared";
import { PG_URL, testDatabase } from "../../../test/support/agent/unit-helpers.ts";
import { createPostgresPool } from "../drivers/postgres.ts";
import { dryRunPostgres } from "./dry-run-postgres.ts";
import { explainPostgres } from "./explain-postgres.ts";

const table = `dbward_preflight_${randomBytes(4).toString("hex")}`;
const ROWS = 5000;
const LIMITS = { statementTimeoutMs: 5000 };

let pool: pg.Pool;
let admin: pg.Client;

/** The table's whole content, as one fingerprint. */
async function fingerprint(): Promise<string> {
  const r = await admin.query<{ f: string }>(
    `SELECT count(*) || ':' || sum(n) || ':' || md5(string_agg(tag, ',' ORDER BY id)) AS f FROM ${table}`,
  );
  return r.rows[0]?.f ?? "";
}

function isCode(code: string, message?: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof DbwardError, String(err));
    assert.equal(err.code, code);
    if (message !== undefined) assert.match(err.message, message);
    return true;
  };
}

before(async () => {
  await initSqlReview(["postgres"]);
  pool = createPostgresPool(testDatabase("postgres", PG_URL));
  pool.on("error", (err) => assert.fail(err));
  admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE TABLE ${table} (id int PRIMARY KEY, n int NOT NULL, tag text NOT NULL)`);
  await admin.query(`INSERT INTO ${table} SELECT g, g % 10, 'x' || g FROM generate_series(1, ${ROWS}) g`);
  await admin.query(`ANALYZE ${table}`);
});

after(async () => {
  await admin.query(`DROP TABLE IF EXISTS ${table}`);
  await admin.end();
  await pool.end();
});

describe("PostgreSQL EXPLAIN", () => {
  test("a SELECT's plan names the sequential scan of the filled table with the planner's estimate", async () => {
    const result = await explainPostgres(pool, `SELECT * FROM ${table} WHERE tag LIKE 'x1%'`, LIMITS);
    assert.equal(result.engine, "postgres");
    assert.ok(Array.isArray(result.plan));
    assert.equal(result.summary.sequential_scans.length, 1);
    assert.equal(result.summary.sequential_scans[0]?.relation, table);
    assert.ok((result.summary.estimated_rows ?? 0) > 0);
    assert.ok((result.summary.total_cost ?? 0) > 0);
    assert.equal(result.summary.costliest_node?.node_type, "Seq Scan");
    assert.ok(result.duration_ms >= 0);
  });

  test("an UPDATE is planned inside READ ONLY and its rows stay unchanged", async () => {
    const before = await fingerprint();
    const result = await explainPostgres(pool, `UPDATE ${table} SET n = n + 1 WHERE tag LIKE 'x1%'`, LIMITS);
    assert.equal(result.summary.sequential_scans[0]?.relation, table);
    // 1111 rows have a tag starting x1; the estimate is the planner's, so only its size is checked.
    assert.ok((result.summary.estimated_rows ?? 0) > 100);
    assert.equal(await fingerprint(), before);
  });

  test("a DELETE and an INSERT are planned and never happen", async () => {
    const before = await fingerprint();
    const deleted = await explainPostgres(pool, `DELETE FROM ${table} WHERE n = 3`, LIMITS);
    assert.equal(deleted.summary.sequential_scans[0]?.relation, table);
    await explainPostgres(pool, `INSERT INTO ${table} VALUES (${ROWS + 1}, 1, 'new')`, LIMITS);
    assert.equal(await fingerprint(), before);
  });

  test("EXPLAIN ANALYZE, EXPLAIN, several statements and DDL are refused and nothing runs", async () => {
    const before = await fingerprint();
    const refused = [
      `EXPLAIN ANALYZE UPDATE ${table} SET n = 0`,
      `/* c */ EXPLAIN (ANALYZE) DELETE FROM ${table}`,
      `EXPLAIN UPDATE ${table} SET n = 0`,
      `UPDATE ${table} SET n = 0 WHERE id = 1; DELETE FROM ${table} WHERE id = 2`,
      `DROP TABLE ${table}`,
      `TRUNCATE ${table}`,
    ];
    for (const sql of refused)
      await assert.rejects(explainPostgres(pool, sql, LIMITS), isCode("sql.rejected"));
    assert.equal(await fingerprint(), before);
  });

  test("a statement the server cannot plan comes back as execution.failed with the server's words", async () => {
    await assert.rejects(
      explainPostgres(pool, `SELECT * FROM ${table}_missing`, LIMITS),
      isCode("execution.failed", /does not exist \(42P01\)/),
    );
    await assert.rejects(
      explainPostgres(pool, `SELECT nosuchcolumn FROM ${table}`, LIMITS),
      isCode("execution.failed", /42703/),
    );
  });
});

describe("PostgreSQL dry run", () => {
  test("the count equals what the same UPDATE changes when it runs for real, and the dry run changed nothing", async () => {
    const before = await fingerprint();
    const dry = await dryRunPostgres(pool, `UPDATE ${table} SET n = n + 100 WHERE n = 3`, LIMITS);
    assert.equal(await fingerprint(), before);
    const real = await admin.query(`UPDATE ${table} SET n = n + 100 WHERE n = 3`);
    assert.equal(dry.affected_rows, real.rowCount);
    assert.equal(dry.affected_rows, ROWS / 10);
    await admin.query(`UPDATE ${table} SET n = n - 100 WHERE n >= 100`);
    assert.equal(await fingerprint(), before);
  });

  test("a DELETE … RETURNING counts the rows it returns, and they are all still there", async () => {
    const before = await fingerprint();
    const dry = await dryRunPostgres(pool, `DELETE FROM ${table} WHERE id > 2000 RETURNING *`, LIMITS);
    assert.equal(dry.affected_rows, ROWS - 2000);
    assert.equal(await fingerprint(), before);
  });

  test("after a dry run no lock is held: another session locks the rows at once and pg_locks has nothing", async () => {
    await dryRunPostgres(pool, `UPDATE ${table} SET n = 7 WHERE id <= 10`, LIMITS);
    const locks = await admin.query(
      `SELECT count(*)::int AS c FROM pg_locks WHERE relation = $1::regclass AND pid <> pg_backend_pid()`,
      [table],
    );
    assert.equal(locks.rows[0]?.c, 0);
    await admin.query("BEGIN");
    try {
      const locked = await admin.query(`SELECT id FROM ${table} WHERE id <= 10 FOR UPDATE NOWAIT`);
      assert.equal(locked.rowCount, 10);
    } finally {
      await admin.query("ROLLBACK");
    }
  });

  test("a row locked by another session makes the dry run give up after its lock timeout, not hang", async () => {
    await admin.query("BEGIN");
    try {
      await admin.query(`SELECT id FROM ${table} WHERE id = 1 FOR UPDATE`);
      const started = Date.now();
      await assert.rejects(
        dryRunPostgres(pool, `UPDATE ${table} SET n = 0 WHERE id = 1`, { ...LIMITS, lockTimeoutMs: 300 }),
        (err) => {
          isCode("execution.timeout", /waited more than 300 ms for a lock/)(err);
          assert.deepEqual((err as DbwardError).details, { lock_timeout: true });
          return true;
        },
      );
      assert.ok(Date.now() - started < 4000);
    } finally {
      await admin.query("ROLLBACK");
    }
  });

  test("a statement that outlasts its timeout fails with execution.timeout and changes nothing", async () => {
    const before = await fingerprint();
    await assert.rejects(
      dryRunPostgres(pool, `UPDATE ${table} SET n = 0 WHERE id = 1 AND pg_sleep(3) IS NOT NULL`, {
        statementTimeoutMs: 200,
      }),
      isCode("execution.timeout", /200 ms/),
    );
    assert.equal(await fingerprint(), before);
  });

  test("reads, DDL and EXPLAIN ANALYZE are refused and nothing runs", async () => {
    const before = await fingerprint();
    const refused = [
      `SELECT * FROM ${table}`,
      `EXPLAIN ANALYZE DELETE FROM ${table}`,
      `DROP TABLE ${table}`,
      `ALTER TABLE ${table} ADD COLUMN z int`,
      `UPDATE ${table} SET n = 0; DELETE FROM ${table}`,
    ];
    for (const sql of refused)
      await assert.rejects(dryRunPostgres(pool, sql, LIMITS), isCode("sql.rejected"));
    assert.equal(await fingerprint(), before);
  });

  test("a backend terminated mid-statement fails the dry run as a lost connection, not a hang, and nothing changed", async () => {
    const before = await fingerprint();
    const marker = `dbward_preflight_kill_${randomBytes(4).toString("hex")}`;
    const dry = dryRunPostgres(
      pool,
      `UPDATE ${table} SET n = 0 WHERE id <= 10 AND pg_sleep(5) IS NOT NULL /* ${marker} */`,
      LIMITS,
    );
    // It fails while the loop below still waits for its KILL to return: handled from the start.
    dry.catch(() => undefined);
    let killed = false;
    for (let i = 0; i < 100 && !killed; i += 1) {
      const r = await admin.query(
        "SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()",
        [`%${marker}%`],
      );
      killed = r.rowCount === 1;
      if (!killed) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(killed, "the dry run's statement was never seen running");
    await assert.rejects(dry, (err) => {
      isCode("execution.failed", /terminating connection/)(err);
      assert.equal((err as DbwardError).details?.connection, true);
      return true;
    });
    assert.equal(await fingerprint(), before);
  });

  test("a pooled connection used after a dry run has the normal timeouts again", async () => {
    const single = new pg.Pool({ connectionString: PG_URL, max: 1 });
    try {
      const settings = async (): Promise<unknown> =>
        (
          await single.query(
            "SELECT current_setting('lock_timeout') AS l, current_setting('statement_timeout') AS s, pg_backend_pid() AS pid",
          )
        ).rows[0];
      const normal = await settings();
      await dryRunPostgres(single, `UPDATE ${table} SET n = n WHERE id = 1`, {
        statementTimeoutMs: 1234,
        lockTimeoutMs: 321,
      });
      await assert.rejects(
        dryRunPostgres(single, `UPDATE ${table} SET n = 0 WHERE id = 1 AND pg_sleep(1) IS NOT NULL`, {
          statementTimeoutMs: 100,
        }),
        isCode("execution.timeout"),
      );
      assert.deepEqual(await settings(), normal);
    } finally {
      await single.end();
    }
  });
});
