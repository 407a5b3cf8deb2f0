/**
 * The row guard in each driver, on the real PostgreSQL, MariaDB and SQLite: a write that changes
 * more rows than `maxAffectedRows` is rolled back before COMMIT with `execution.row_guard`, leaves
 * every row as it was and holds no lock afterwards; one within the bound commits. On MariaDB, a
 * non-transactional (MyISAM) table, whose change no ROLLBACK can undo, is named in the failure.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { DbwardError } from "@dbward/shared";
import type { DriverName } from "../config.ts";
import { MARIADB_URL, PG_URL, tempDir, testDatabase } from "../../../test/support/agent/unit-helpers.ts";
import type { Driver, ExecuteOptions } from "./driver.ts";
import { createDriver } from "./registry.ts";

interface Dialect {
  readonly driver: DriverName;
  url(t: { after(fn: () => void): void }): string;
  /** An update of every row that gives up at once if another transaction still locks one. */
  readonly lockProbe?: (table: string) => string[];
  readonly returning: boolean;
}

const DIALECTS: readonly Dialect[] = [
  {
    driver: "postgres",
    url: () => PG_URL,
    lockProbe: (table) => ["SET lock_timeout = '1s'", `UPDATE ${table} SET n = n WHERE id > 0`],
    returning: true,
  },
  {
    driver: "mysql",
    url: () => MARIADB_URL,
    lockProbe: (table) => [
      "SET SESSION innodb_lock_wait_timeout = 1",
      `UPDATE ${table} SET n = n WHERE id > 0`,
    ],
    returning: false,
  },
  {
    driver: "sqlite",
    url: (t) => {
      const file = join(tempDir(t), "guard.db");
      new Database(file).close();
      return file;
    },
    returning: true,
  },
];

const write = (maxAffectedRows?: number): ExecuteOptions => ({
  operation: "write",
  rowCap: 100,
  statementTimeoutMs: 5000,
  ...(maxAffectedRows === undefined ? {} : { maxAffectedRows }),
});

for (const dialect of DIALECTS) {
  describe(`${dialect.driver} row guard`, () => {
    const table = `dbward_guard_${randomBytes(4).toString("hex")}`;
    let driver: Driver;
    const cleanups: (() => void)[] = [];
    const values = async (): Promise<unknown[]> =>
      (
        await driver.execute(`SELECT n FROM ${table} ORDER BY id`, {
          operation: "read",
          rowCap: 100,
          statementTimeoutMs: 5000,
        })
      ).rows.map((r) => Number(r[0]));

    before(async () => {
      driver = createDriver(
        testDatabase(dialect.driver, dialect.url({ after: (fn) => cleanups.push(fn) })),
        (err) => assert.fail(err),
      );
      await driver.execute(`CREATE TABLE ${table} (id INTEGER PRIMARY KEY, n INTEGER)`, {
        ...write(),
        operation: "ddl",
      });
      await driver.execute(
        `INSERT INTO ${table} (id, n) VALUES (1, 0), (2, 0), (3, 0), (4, 0), (5, 0)`,
        write(),
      );
    });
    after(async () => {
      await driver.execute(`DROP TABLE ${table}`, { ...write(), operation: "ddl" });
      await driver.close();
      for (const fn of cleanups) fn();
    });

    test("a write over its bound is rolled back with execution.row_guard, and nothing changed", async () => {
      await assert.rejects(driver.execute(`UPDATE ${table} SET n = n + 1 WHERE id > 0`, write(3)), (err) => {
        assert.ok(err instanceof DbwardError);
        assert.equal(err.code, "execution.row_guard");
        assert.match(err.message, /changed 5 rows, more than its approved bound of 3; rolled back/);
        assert.deepEqual(err.details, { affected_rows: 5, max_rows: 3 });
        return true;
      });
      assert.deepEqual(await values(), [0, 0, 0, 0, 0]);
    });

    const lockProbe = dialect.lockProbe;
    if (lockProbe !== undefined) {
      test("after a guarded rollback no lock is held: another session updates the same rows at once", async () => {
        await assert.rejects(
          driver.execute(`UPDATE ${table} SET n = 7 WHERE id > 0`, write(1)),
          /row_guard|bound/,
        );
        const probe = createDriver(
          testDatabase(dialect.driver, dialect.url({ after: (fn) => cleanups.push(fn) })),
          (err) => assert.fail(err),
        );
        try {
          const [setting, update] = lockProbe(table) as [string, string];
          const done = await probe.execute(update, { ...write(), session: [setting] });
          assert.equal(done.affected_rows, 5);
        } finally {
          await probe.close();
        }
      });
    }

    test("a write within its bound commits, at the bound exactly", async () => {
      const done = await driver.execute(`UPDATE ${table} SET n = n + 1 WHERE id <= 3`, write(3));
      assert.equal(done.affected_rows, 3);
      assert.deepEqual(await values(), [1, 1, 1, 0, 0]);
      await driver.execute(`UPDATE ${table} SET n = 0 WHERE id > 0`, write());
    });

    if (dialect.returning) {
      test("a DELETE … RETURNING over its bound is rolled back, its rows still there", async () => {
        await assert.rejects(
          driver.execute(`DELETE FROM ${table} WHERE id > 1 RETURNING id`, write(2)),
          (err) => err instanceof DbwardError && err.code === "execution.row_guard",
        );
        assert.deepEqual(await values(), [0, 0, 0, 0, 0]);
      });
    }
  });
}

describe("mysql row guard on a non-transactional table", () => {
  const table = `dbward_guard_myisam_${randomBytes(4).toString("hex")}`;
  let driver: Driver;
  before(async () => {
    driver = createDriver(testDatabase("mysql", MARIADB_URL), (err) => assert.fail(err));
    await driver.execute(`CREATE TABLE ${table} (id INTEGER PRIMARY KEY, n INTEGER) ENGINE=MyISAM`, {
      ...write(),
      operation: "ddl",
    });
    await driver.execute(`INSERT INTO ${table} (id, n) VALUES (1, 0), (2, 0), (3, 0)`, write());
  });
  after(async () => {
    await driver.execute(`DROP TABLE ${table}`, { ...write(), operation: "ddl" });
    await driver.close();
  });

  test("the failure says the change could not be undone, since MyISAM ignores ROLLBACK", async () => {
    await assert.rejects(driver.execute(`UPDATE ${table} SET n = 9 WHERE id > 0`, write(1)), (err) => {
      assert.ok(err instanceof DbwardError);
      assert.equal(err.code, "execution.row_guard");
      assert.match(err.message, /non-transactional tables .* could not be undone/);
      assert.equal(err.details?.non_transactional, true);
      return true;
    });
  });
});
