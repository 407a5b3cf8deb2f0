/**
 * One suite run against every driver, on real servers: PostgreSQL at 127.0.0.1:5432 and MariaDB at
 * 127.0.0.1:3306 (database `test`), SQLite in a temporary file. Each run works in its own table.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import type { DbwardError } from "@dbward/shared";
import { type OperationClass } from "@dbward/shared";
import type { DriverName } from "../config.ts";
import { MARIADB_URL, PG_URL, tempDir, testDatabase } from "../../../test/support/agent/unit-helpers.ts";
import type { Driver, ExecuteResult } from "./driver.ts";
import { createDriver } from "./registry.ts";

interface Dialect {
  readonly driver: DriverName;
  url(t: { after(fn: () => void): void }): string;
  readonly sleepRead: string;
  /** A write that runs longer than a 300 ms timeout, or undefined when the engine has no sleep. */
  slowWrite?(table: string): string;
  /** A session change made by a write job, and a read that shows the setting's value after it. */
  readonly session: { set: string; show: string; fresh: unknown };
  /** Reviewed session settings run before the statement (none for SQLite, which allows none). */
  readonly settings?: {
    readonly set: string;
    readonly show: string;
    readonly shown: unknown;
    /** Asks for a statement timeout far above the agent's, and one far below. */
    readonly lengthen: string;
    readonly shorten: string;
    /** Shows the statement timeout in force, and how it reads at 300 ms. */
    readonly showTimeout: string;
    readonly timeout300: unknown;
  };
}

const DIALECTS: readonly Dialect[] = [
  {
    driver: "postgres",
    url: () => PG_URL,
    sleepRead: "SELECT pg_sleep(5)",
    slowWrite: (table) => `UPDATE ${table} SET n = 100 WHERE pg_sleep(1)::text = ''`,
    session: { set: "SET work_mem = '1234kB'", show: "SELECT current_setting('work_mem')", fresh: "4MB" },
    settings: {
      set: "SET work_mem = '8MB'",
      show: "SELECT current_setting('work_mem')",
      shown: "8MB",
      lengthen: "SET statement_timeout = '1h'",
      shorten: "SET LOCAL statement_timeout = '100ms'",
      showTimeout: "SELECT current_setting('statement_timeout')",
      timeout300: "300ms",
    },
  },
  {
    driver: "mysql",
    url: () => MARIADB_URL,
    sleepRead: "SELECT SLEEP(5)",
    slowWrite: (table) => `UPDATE ${table} SET n = 100 WHERE SLEEP(1) = 0`,
    session: { set: "SET @leak = 42", show: "SELECT @leak", fresh: null },
    settings: {
      set: "SET time_zone = '+03:00'",
      show: "SELECT @@session.time_zone",
      shown: "+03:00",
      lengthen: "SET SESSION max_statement_time = 3600",
      shorten: "SET max_statement_time = 0.1",
      showTimeout: "SELECT @@session.max_statement_time",
      timeout300: 0.3,
    },
  },
  {
    driver: "sqlite",
    url: (t) => {
      const file = join(tempDir(t), "test.db");
      new Database(file).close();
      return file;
    },
    sleepRead: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c",
    session: { set: "PRAGMA recursive_triggers = ON", show: "PRAGMA recursive_triggers", fresh: 0 },
  },
];

for (const dialect of DIALECTS) {
  describe(`${dialect.driver} driver`, () => {
    const table = `dbward_agent_${randomBytes(4).toString("hex")}`;
    let driver: Driver;
    const run = (
      sql: string,
      operation: OperationClass,
      rowCap = 100,
      statementTimeoutMs = 5000,
    ): Promise<ExecuteResult> => driver.execute(sql, { operation, rowCap, statementTimeoutMs });
    const names = async (): Promise<unknown[][]> =>
      (await run(`SELECT id, n FROM ${table} ORDER BY id`, "read")).rows;

    const cleanups: (() => void)[] = [];

    before(async () => {
      const url = dialect.url({ after: (fn) => cleanups.push(fn) });
      driver = createDriver(testDatabase(dialect.driver, url), (err) => assert.fail(err));
      await run(`CREATE TABLE ${table} (id INTEGER PRIMARY KEY, name VARCHAR(50), n INTEGER)`, "ddl");
      await run(
        `INSERT INTO ${table} (id, name, n) VALUES (1, 'a', 0), (2, 'b', 0), (3, 'c', 0), (4, 'd', 0), (5, 'e', 0)`,
        "write",
      );
    });
    after(async () => {
      await run(`DROP TABLE ${table}`, "ddl");
      await driver.close();
      cleanups.forEach((fn) => fn());
    });

    test("returns the columns in the statement's order and rows as arrays", async () => {
      const result = await run(`SELECT name, id FROM ${table} WHERE id <= 2 ORDER BY id`, "read");
      assert.deepEqual(result, {
        columns: ["name", "id"],
        rows: [
          ["a", 1],
          ["b", 2],
        ],
        row_count: 2,
        truncated: false,
      });
    });

    test("commits an UPDATE and reports the rows it changed", async () => {
      const result = await run(`UPDATE ${table} SET n = n + 1 WHERE id <= 2`, "write");
      assert.equal(result.affected_rows, 2);
      assert.deepEqual((await names()).slice(0, 3), [
        [1, 1],
        [2, 1],
        [3, 0],
      ]);
    });

    test("refuses an UPDATE run as a read: the database itself rejects the write", async () => {
      const before = await names();
      await assert.rejects(run(`UPDATE ${table} SET n = 99`, "read"), { code: "execution.failed" });
      assert.deepEqual(await names(), before);
    });

    test("stops at the row cap and marks the result truncated", async () => {
      const capped = await run(`SELECT id FROM ${table} ORDER BY id`, "read", 2);
      assert.deepEqual(
        { rows: capped.rows, count: capped.row_count, truncated: capped.truncated },
        { rows: [[1], [2]], count: 2, truncated: true },
      );
      const exact = await run(`SELECT id FROM ${table} ORDER BY id`, "read", 5);
      assert.equal(exact.truncated, false);
      assert.equal(exact.row_count, 5);
    });

    test("stops a statement that runs past its timeout with execution.timeout", async () => {
      const started = Date.now();
      await assert.rejects(run(dialect.sleepRead, "read", 1_000_000_000, 300), (err: DbwardError) => {
        assert.equal(err.code, "execution.timeout");
        return true;
      });
      assert.ok(Date.now() - started < 4000, "the timeout fired well before the statement would have ended");
    });

    // Only where the dialect can make a write slow enough to time out (not SQLite's single step).
    const slowWrite = dialect.slowWrite;
    if (slowWrite !== undefined) {
      test("rolls back a write that runs past its timeout", async () => {
        const before = await names();
        await assert.rejects(run(slowWrite(table), "write", 100, 300), { code: "execution.timeout" });
        assert.deepEqual(await names(), before);
      });
    }

    test("runs exactly one statement and refuses a second one in the same text", async () => {
      await assert.rejects(run("SELECT 1; SELECT 2", "read"), { code: "execution.failed" });
    });

    test("reports a database error with its message", async () => {
      await assert.rejects(run(`SELECT no_such_column FROM ${table}`, "read"), (err: DbwardError) => {
        assert.equal(err.code, "execution.failed");
        assert.match(err.message, /no_such_column/);
        return true;
      });
    });

    test("keeps no session setting from one job for the next", async () => {
      await run(dialect.session.set, "write");
      const shown = await run(dialect.session.show, "read");
      assert.deepEqual(shown.rows, [[dialect.session.fresh]]);
    });

    const settings = dialect.settings;
    if (settings !== undefined) {
      const withSettings = (sql: string, session: string[], statementTimeoutMs = 5000) =>
        driver.execute(sql, { operation: "read", rowCap: 10, statementTimeoutMs, session });

      test("runs the request's session settings first, on the statement's connection", async () => {
        const shown = await withSettings(settings.show, [settings.set]);
        assert.deepEqual(shown.rows, [[settings.shown]]);
        const after = await run(settings.show, "read");
        assert.notDeepEqual(after.rows, [[settings.shown]], "the setting ended with its job");
      });

      test("after a setting that lengthens the timeout, the agent's timeout is in force", async () => {
        const shown = await withSettings(settings.showTimeout, [settings.lengthen], 300);
        assert.deepEqual(shown.rows, [[settings.timeout300]]);
      });

      test("a setting can shorten the statement timeout but never lengthen it", async () => {
        const started = Date.now();
        await assert.rejects(withSettings(dialect.sleepRead, [settings.lengthen], 300), {
          code: "execution.timeout",
        });
        await assert.rejects(withSettings(dialect.sleepRead, [settings.shorten], 60_000), {
          code: "execution.timeout",
        });
        assert.ok(Date.now() - started < 4000, "both stopped long before the 5 s sleep ended");
      });

      test("a setting text holding a second statement is refused before anything runs", async () => {
        const before = await names();
        await assert.rejects(withSettings(`SELECT 1`, [`${settings.set}; UPDATE ${table} SET n = 77`]), {
          code: "execution.failed",
        });
        assert.deepEqual(await names(), before);
      });
    } else {
      test("refuses session settings, which no SQLite target takes", async () => {
        await assert.rejects(
          driver.execute("SELECT 1", {
            operation: "read",
            rowCap: 1,
            statementTimeoutMs: 1000,
            session: ["PRAGMA recursive_triggers = ON"],
          }),
          { code: "execution.failed" },
        );
      });
    }

    // MariaDB has no UPDATE … RETURNING, so the case exists only for the other dialects.
    if (dialect.driver !== "mysql")
      test("returns rows of a write's RETURNING clause, capped", async () => {
        const result = await run(`UPDATE ${table} SET n = n + 10 RETURNING id`, "write", 2);
        assert.equal(result.rows.length, 2);
        assert.equal(result.truncated, true);
        assert.ok(
          (await names()).every(([, n]) => typeof n === "number" && n >= 10),
          "every row was updated",
        );
      });
  });
}

describe("driver errors", () => {
  test("a database that cannot be reached is execution.failed, without the URL in the message", async () => {
    const driver = createDriver(
      testDatabase("postgres", "postgres://agent:s3cret@127.0.0.1:1/test"),
      () => undefined,
    );
    try {
      await assert.rejects(
        driver.execute("SELECT 1", { operation: "read", rowCap: 1, statementTimeoutMs: 1000 }),
        (err: DbwardError) => {
          assert.equal(err.code, "execution.failed");
          assert.ok(!err.message.includes("s3cret"));
          return true;
        },
      );
    } finally {
      await driver.close();
    }
  });

  test("a missing SQLite file is execution.failed rather than a new empty database", async (t) => {
    const file = join(tempDir(t), "missing.db");
    const driver = createDriver(testDatabase("sqlite", file), () => undefined);
    await assert.rejects(
      driver.execute("CREATE TABLE x (a INTEGER)", { operation: "ddl", rowCap: 1, statementTimeoutMs: 1000 }),
      {
        code: "execution.failed",
      },
    );
  });
});
