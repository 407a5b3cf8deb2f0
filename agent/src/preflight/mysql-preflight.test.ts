/**
 * EXPLAIN and dry runs on the real MariaDB: a plan never changes a row (even when the optimizer
 * calls a stored function that writes), a dry run counts exactly what the real statement changes
 * and leaves no row changed and no lock held, a lock held elsewhere makes it give up after its
 * short timeout, a table whose change cannot be rolled back (MyISAM, triggers) is refused before
 * anything runs, and the pooled connection gets its normal timeouts back.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import mysql from "mysql2/promise";
import type { Pool } from "mysql2";
import { DbwardError, initSqlReview } from "@dbward/shared";
import { MARIADB_URL, testDatabase } from "../../../test/support/agent/unit-helpers.ts";
import { createMysqlPool } from "../drivers/mysql.ts";
import { dryRunMysql } from "./dry-run-mysql.ts";
import { explainMysql } from "./explain-mysql.ts";

const suffix = randomBytes(4).toString("hex");
const table = `dbward_preflight_${suffix}`;
const myisam = `dbward_preflight_myisam_${suffix}`;
const triggered = `dbward_preflight_trg_${suffix}`;
const log = `dbward_preflight_log_${suffix}`;
const sideEffect = `dbward_preflight_fn_${suffix}`;
const ROWS = 5000;
const LIMITS = { statementTimeoutMs: 5000 };

let pool: Pool;
let admin: mysql.Connection;

async function scalar(sql: string): Promise<unknown> {
  const [rows] = await admin.query<mysql.RowDataPacket[]>(sql);
  return rows[0] === undefined ? undefined : Object.values(rows[0])[0];
}

/** The table's whole content, as one fingerprint. */
const fingerprint = (name = table): Promise<unknown> =>
  scalar(`SELECT CONCAT(COUNT(*), ':', SUM(n), ':', MD5(GROUP_CONCAT(tag ORDER BY id))) FROM ${name}`);

function isCode(code: string, message?: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof DbwardError, String(err));
    assert.equal(err.code, code);
    if (message !== undefined) assert.match(err.message, message);
    return true;
  };
}

before(async () => {
  await initSqlReview(["mysql"]);
  pool = createMysqlPool(testDatabase("mysql", MARIADB_URL));
  admin = await mysql.createConnection({ uri: MARIADB_URL });
  await admin.query("SET SESSION group_concat_max_len = 1000000");
  await admin.query(
    `CREATE TABLE ${table} (id INT PRIMARY KEY, n INT NOT NULL, tag VARCHAR(20) NOT NULL) ENGINE=InnoDB`,
  );
  await admin.query(`INSERT INTO ${table} SELECT seq, seq % 10, CONCAT('x', seq) FROM seq_1_to_${ROWS}`);
  await admin.query(`ANALYZE TABLE ${table}`);
  await admin.query(
    `CREATE TABLE ${myisam} (id INT PRIMARY KEY, n INT NOT NULL, tag VARCHAR(20) NOT NULL) ENGINE=MyISAM`,
  );
  await admin.query(`INSERT INTO ${myisam} VALUES (1, 0, 'a'), (2, 0, 'b')`);
  await admin.query(`CREATE TABLE ${log} (id INT AUTO_INCREMENT PRIMARY KEY, at DATETIME) ENGINE=InnoDB`);
  await admin.query(
    `CREATE TABLE ${triggered} (id INT PRIMARY KEY, n INT NOT NULL, tag VARCHAR(20) NOT NULL) ENGINE=InnoDB`,
  );
  await admin.query(`INSERT INTO ${triggered} VALUES (1, 0, 'a')`);
  await admin.query(
    `CREATE TRIGGER ${triggered}_t AFTER UPDATE ON ${triggered} FOR EACH ROW INSERT INTO ${log} (at) VALUES (NOW())`,
  );
  // DETERMINISTIC: the optimizer may call it while it plans, as EXPLAIN does.
  await admin.query(
    `CREATE FUNCTION ${sideEffect}() RETURNS INT DETERMINISTIC MODIFIES SQL DATA
     BEGIN INSERT INTO ${log} (at) VALUES (NOW()); RETURN 17; END`,
  );
});

after(async () => {
  await admin.query(`DROP FUNCTION IF EXISTS ${sideEffect}`);
  await admin.query(`DROP TABLE IF EXISTS ${table}, ${myisam}, ${triggered}, ${log}`);
  await admin.end();
  await new Promise<void>((resolve, reject) => pool.end((err) => (err ? reject(err) : resolve())));
});

describe("MariaDB EXPLAIN", () => {
  test("a SELECT's plan names the full scan of the filled table with its row estimate", async () => {
    const result = await explainMysql(pool, `SELECT * FROM ${table} WHERE tag LIKE 'x1%'`, LIMITS);
    assert.equal(result.engine, "mysql");
    assert.deepEqual(result.summary.sequential_scans, [
      { scan: "ALL", relation: table, estimated_rows: ROWS },
    ]);
    assert.equal(result.summary.estimated_rows, ROWS);
    assert.equal(typeof result.plan, "object");
  });

  test("an UPDATE and a DELETE are planned, their full scans found, and the rows stay unchanged", async () => {
    const before = await fingerprint();
    const updated = await explainMysql(pool, `UPDATE ${table} SET n = n + 1 WHERE tag LIKE 'x1%'`, LIMITS);
    // MariaDB reads the whole table of an UPDATE through its primary key: a full index scan.
    assert.deepEqual(
      updated.summary.sequential_scans.map((s) => [s.relation, s.estimated_rows]),
      [[table, ROWS]],
    );
    const deleted = await explainMysql(pool, `DELETE FROM ${table} WHERE tag = 'x7'`, LIMITS);
    assert.equal(deleted.summary.sequential_scans[0]?.relation, table);
    await explainMysql(pool, `INSERT INTO ${table} VALUES (${ROWS + 1}, 1, 'new')`, LIMITS);
    assert.equal(await fingerprint(), before);
  });

  test("MariaDB refuses EXPLAIN of an UPDATE inside READ ONLY, which is why a change is explained in a plain transaction", async () => {
    await admin.query("START TRANSACTION READ ONLY");
    try {
      await assert.rejects(admin.query(`EXPLAIN FORMAT=JSON UPDATE ${table} SET n = 0 WHERE id = 1`), {
        errno: 1792,
      });
    } finally {
      await admin.query("ROLLBACK");
    }
  });

  test("what a stored function writes while EXPLAIN plans an UPDATE is rolled back", async () => {
    await explainMysql(pool, `UPDATE ${table} SET n = 0 WHERE id = ${sideEffect}()`, LIMITS);
    assert.equal(Number(await scalar(`SELECT COUNT(*) FROM ${log}`)), 0);
    // The optimizer does call it: the same EXPLAIN outside a preflight's transaction leaves rows.
    await admin.query(`EXPLAIN UPDATE ${table} SET n = 0 WHERE id = ${sideEffect}()`);
    assert.ok(Number(await scalar(`SELECT COUNT(*) FROM ${log}`)) > 0);
    await admin.query(`DELETE FROM ${log}`);
  });

  test("EXPLAIN ANALYZE, EXPLAIN, DESCRIBE, several statements and DDL are refused and nothing runs", async () => {
    const before = await fingerprint();
    const refused = [
      `EXPLAIN ANALYZE UPDATE ${table} SET n = 0`,
      `ANALYZE UPDATE ${table} SET n = 0`,
      `/* c */ # d\n EXPLAIN UPDATE ${table} SET n = 0`,
      `DESCRIBE ${table}`,
      `UPDATE ${table} SET n = 0 WHERE id = 1; DELETE FROM ${table} WHERE id = 2`,
      `DROP TABLE ${table}`,
      `TRUNCATE TABLE ${table}`,
    ];
    for (const sql of refused) await assert.rejects(explainMysql(pool, sql, LIMITS), isCode("sql.rejected"));
    assert.equal(await fingerprint(), before);
  });

  test("a statement the server cannot plan comes back as execution.failed with the server's words", async () => {
    await assert.rejects(
      explainMysql(pool, `SELECT * FROM ${table}_missing`, LIMITS),
      isCode("execution.failed", /doesn't exist \(ER_NO_SUCH_TABLE\)/),
    );
    await assert.rejects(
      explainMysql(pool, `UPDATE ${table} SET nosuchcolumn = 1 WHERE id = 1`, LIMITS),
      isCode("execution.failed", /ER_BAD_FIELD_ERROR/),
    );
  });
});

describe("MariaDB dry run", () => {
  test("the count equals what the same UPDATE changes when it runs for real, and the dry run changed nothing", async () => {
    const before = await fingerprint();
    const dry = await dryRunMysql(pool, `UPDATE ${table} SET n = n + 100 WHERE n = 3`, {
      ...LIMITS,
      tables: [table],
    });
    assert.equal(await fingerprint(), before);
    const [real] = await admin.query<mysql.ResultSetHeader>(`UPDATE ${table} SET n = n + 100 WHERE n = 3`);
    assert.equal(dry.affected_rows, real.affectedRows);
    assert.equal(dry.affected_rows, ROWS / 10);
    await admin.query(`UPDATE ${table} SET n = n - 100 WHERE n >= 100`);
    assert.equal(await fingerprint(), before);
  });

  test("a DELETE … RETURNING counts the rows it returns, and they are all still there", async () => {
    const before = await fingerprint();
    const dry = await dryRunMysql(pool, `DELETE FROM ${table} WHERE id > 2000 RETURNING id`, {
      ...LIMITS,
      tables: [table],
    });
    assert.equal(dry.affected_rows, ROWS - 2000);
    assert.equal(await fingerprint(), before);
  });

  test("after a dry run no lock is held: another session updates the same rows at once", async () => {
    await dryRunMysql(pool, `UPDATE ${table} SET n = 7 WHERE id <= 10`, { ...LIMITS, tables: [table] });
    await admin.query("SET SESSION innodb_lock_wait_timeout = 1");
    await admin.query("START TRANSACTION");
    try {
      const [done] = await admin.query<mysql.ResultSetHeader>(`UPDATE ${table} SET n = n WHERE id <= 10`);
      // mysql2 asks for found rows (CLIENT_FOUND_ROWS): rows matched, as the dry run counts them.
      assert.equal(done.affectedRows, 10);
      const [locked] = await admin.query<mysql.RowDataPacket[]>(
        `SELECT id FROM ${table} WHERE id <= 10 FOR UPDATE`,
      );
      assert.equal(locked.length, 10);
    } finally {
      await admin.query("ROLLBACK");
      await admin.query("SET SESSION innodb_lock_wait_timeout = DEFAULT");
    }
  });

  test("a row locked by another session makes the dry run give up after its lock timeout, not hang", async () => {
    await admin.query("START TRANSACTION");
    try {
      await admin.query(`SELECT id FROM ${table} WHERE id = 1 FOR UPDATE`);
      const started = Date.now();
      await assert.rejects(
        dryRunMysql(pool, `UPDATE ${table} SET n = 0 WHERE id = 1`, {
          ...LIMITS,
          lockTimeoutMs: 1000,
          tables: [table],
        }),
        (err) => {
          isCode("execution.timeout", /waited more than 1000 ms for a lock/)(err);
          assert.deepEqual((err as DbwardError).details, { lock_timeout: true });
          return true;
        },
      );
      assert.ok(Date.now() - started < 4000);
    } finally {
      await admin.query("ROLLBACK");
    }
  });

  test("a table another session is changing (its metadata locked: an ALTER, a CREATE TRIGGER) makes the dry run give up after its lock timeout", async () => {
    // LOCK TABLES … WRITE holds what an ALTER or CREATE TRIGGER holds: the dry run's own
    // metadata lock, taken before its check, must wait for it, and not past its timeout.
    await admin.query(`LOCK TABLES ${table} WRITE`);
    try {
      await assert.rejects(
        dryRunMysql(pool, `UPDATE ${table} SET n = 0 WHERE id = 1`, {
          ...LIMITS,
          lockTimeoutMs: 1000,
          tables: [table],
        }),
        isCode("execution.timeout", /waited more than 1000 ms for a lock/),
      );
    } finally {
      await admin.query("UNLOCK TABLES");
    }
  });

  test("a MyISAM table is refused before anything runs, and its rows are unchanged", async () => {
    const before = await fingerprint(myisam);
    await assert.rejects(
      dryRunMysql(pool, `UPDATE ${myisam} SET n = 9 WHERE id > 0`, { ...LIMITS, tables: [myisam] }),
      isCode("sql.rejected", new RegExp(`${myisam} uses the MyISAM engine, which is not transactional`)),
    );
    await assert.rejects(
      dryRunMysql(pool, `UPDATE ${table} t JOIN ${myisam} m ON m.id = t.id SET m.n = 9, t.n = 9`, {
        ...LIMITS,
        tables: [table, `test.${myisam}`],
      }),
      isCode("sql.rejected", /MyISAM/),
    );
    assert.equal(await fingerprint(myisam), before);
  });

  test("a table with triggers, a missing table or no tables at all are refused before anything runs", async () => {
    await assert.rejects(
      dryRunMysql(pool, `UPDATE ${triggered} SET n = 1 WHERE id = 1`, { ...LIMITS, tables: [triggered] }),
      isCode("sql.rejected", /has triggers/),
    );
    assert.equal(Number(await scalar(`SELECT COUNT(*) FROM ${log}`)), 0);
    assert.equal(Number(await scalar(`SELECT n FROM ${triggered} WHERE id = 1`)), 0);
    await assert.rejects(
      dryRunMysql(pool, `UPDATE ${table} SET n = 1 WHERE id = 1`, {
        ...LIMITS,
        tables: [`${table}_missing`],
      }),
      isCode("sql.rejected", /is not a table in this database/),
    );
    await assert.rejects(
      dryRunMysql(pool, `UPDATE ${table} SET n = 1 WHERE id = 1`, { ...LIMITS, tables: [] }),
      isCode("sql.rejected", /none were given/),
    );
  });

  test("reads, DDL and EXPLAIN are refused and nothing runs", async () => {
    const before = await fingerprint();
    const refused = [
      `SELECT * FROM ${table}`,
      `SELECT * FROM ${table} WHERE id = 1 FOR UPDATE`,
      `EXPLAIN DELETE FROM ${table}`,
      `DROP TABLE ${table}`,
      `ALTER TABLE ${table} ADD COLUMN z INT`,
      `LOCK TABLES ${table} WRITE`,
    ];
    for (const sql of refused) {
      await assert.rejects(dryRunMysql(pool, sql, { ...LIMITS, tables: [table] }), isCode("sql.rejected"));
    }
    assert.equal(await fingerprint(), before);
  });

  test("a connection killed mid-statement fails the dry run as a lost connection, not a hang, and nothing changed", async () => {
    const before = await fingerprint();
    const marker = `dbward_preflight_kill_${randomBytes(4).toString("hex")}`;
    const dry = dryRunMysql(
      pool,
      `UPDATE ${table} SET n = 0 WHERE id <= 10 AND SLEEP(5) = 0 /* ${marker} */`,
      {
        ...LIMITS,
        tables: [table],
      },
    );
    // It fails while the loop below still waits for its KILL to return: handled from the start.
    dry.catch(() => undefined);
    let killed = false;
    for (let i = 0; i < 100 && !killed; i += 1) {
      const id = await scalar(
        `SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE '%${marker}%' AND INFO NOT LIKE '%PROCESSLIST%'`,
      );
      if (id !== undefined) {
        await admin.query(`KILL CONNECTION ${Number(id)}`);
        killed = true;
      } else await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(killed, "the dry run's statement was never seen running");
    await assert.rejects(dry, (err) => {
      isCode("execution.failed")(err);
      assert.equal((err as DbwardError).details?.connection, true);
      return true;
    });
    assert.equal(await fingerprint(), before);
  });

  test("a pooled connection used after a dry run has the normal timeouts again", async () => {
    const single = mysql.createPool({ uri: MARIADB_URL, connectionLimit: 1 });
    try {
      const settings = async (): Promise<unknown> =>
        (
          await single.query(
            "SELECT @@session.innodb_lock_wait_timeout AS l, @@session.max_statement_time AS s, CONNECTION_ID() AS id",
          )
        )[0];
      const normal = await settings();
      await dryRunMysql(single.pool, `UPDATE ${table} SET n = n WHERE id = 1`, {
        statementTimeoutMs: 1500,
        lockTimeoutMs: 1000,
        tables: [table],
      });
      await assert.rejects(
        dryRunMysql(single.pool, `UPDATE ${table} SET n = 0 WHERE id = 1 AND SLEEP(2) = 0`, {
          statementTimeoutMs: 200,
          tables: [table],
        }),
        isCode("execution.timeout", /200 ms/),
      );
      assert.deepEqual(await settings(), normal);
    } finally {
      await single.end();
    }
  });
});
