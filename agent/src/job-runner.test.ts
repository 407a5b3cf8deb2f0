/**
 * The job runner executing verified jobs, with real tokens signed by shared's
 * `signExecutionToken` and real execution on SQLite files.
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { initSqlReview, type ClaimResponse } from "@dbward/shared";
import { executeOptions, runJob } from "./job-runner.ts";
import { jobFixture as setup } from "./test-job-fixture.ts";
import { generateSigningKey, signedClaim, testDatabase } from "./test-helpers.ts";

// startAgent loads the reviewer's parsers; these tests call runJob directly.
before(() => initSqlReview());

describe("runJob: execution", () => {
  test("runs a verified read and returns its rows", async (t) => {
    const s = setup(t);
    const result = await runJob(s.claim(), s.deps());
    assert.deepEqual(result, {
      outcome: "succeeded",
      duration_ms: 0,
      result: {
        columns: ["id", "name"],
        rows: [
          [1, "a"],
          [2, "b"],
          [3, "c"],
        ],
        row_count: 3,
        truncated: false,
      },
    });
  });

  test("runs a verified write, commits it and reports the rows it changed", async (t) => {
    const s = setup(t);
    const result = await runJob(
      s.claim({ sql: "UPDATE items SET name = 'z' WHERE id = 2", operation: "write" }),
      s.deps(),
    );
    assert.equal(result.outcome, "succeeded");
    assert.equal(result.affected_rows, 1);
    const db = new Database(s.file, { readonly: true });
    assert.equal(db.prepare("SELECT name FROM items WHERE id = 2").pluck().get(), "z");
    db.close();
  });

  test("reports a database error as failed with execution.failed", async (t) => {
    const s = setup(t);
    const result = await runJob(s.claim({ sql: "SELECT id FROM no_such_table" }), s.deps());
    assert.equal(result.outcome, "failed");
    assert.equal(result.error?.code, "execution.failed");
    assert.match(result.error?.message ?? "", /no_such_table/);
  });

  test("reports a statement stopped by its timeout as timed_out", async (t) => {
    const s = setup(t);
    const sql = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c";
    const result = await runJob(
      s.claim({ sql, operation: "write" }, { statement_timeout_ms: 200, row_cap: 1 }),
      s.deps(),
    );
    assert.equal(result.outcome, "timed_out");
    assert.equal(result.error?.code, "execution.timeout");
  });

  test("hides an unexpected driver error from the bot and reports it as internal", async (t) => {
    const s = setup(t, () => ({
      execute: () => Promise.reject(new TypeError("Invalid URL postgres://u:secret@h")),
      close: () => Promise.resolve(),
    }));
    const result = await runJob(s.claim(), s.deps());
    assert.equal(result.outcome, "failed");
    assert.equal(result.error?.code, "internal");
    assert.ok(!JSON.stringify(result).includes("secret"));
  });

  test("records the token id before the statement starts", async (t) => {
    let recordedDuringExecution: boolean | undefined;
    const s = setup(t, (inner) => ({
      execute: (sql, options) => {
        recordedDuringExecution = s.ledgerSize() === 1;
        return inner.execute(sql, options);
      },
      close: () => inner.close(),
    }));
    await runJob(s.claim(), s.deps());
    assert.equal(recordedDuringExecution, true);
  });
});

describe("executeOptions", () => {
  const db = testDatabase("sqlite", "unused.db");
  const key = generateSigningKey();
  const claim = (statement_timeout_ms: number, row_cap: number): ClaimResponse =>
    signedClaim(
      key,
      { sql: "SELECT 1", database: "sqlite-test", environment: "test", operation: "read" },
      { statement_timeout_ms, row_cap },
    );

  test("uses the bot's limits when they are within the database's ceilings", () => {
    assert.deepEqual(executeOptions(claim(5000, 10), db, "read"), {
      operation: "read",
      statementTimeoutMs: 5000,
      rowCap: 10,
    });
  });

  test("caps the bot's limits at the database's ceilings", () => {
    assert.deepEqual(executeOptions(claim(999_999, 1_000_000), db, "write"), {
      operation: "write",
      statementTimeoutMs: 30_000,
      rowCap: 1000,
    });
  });

  test("ignores a zero, negative or fractional limit, which could mean no limit at all", () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      const options = executeOptions(claim(bad, bad), db, "read");
      assert.deepEqual([options.statementTimeoutMs, options.rowCap], [30_000, 1000], String(bad));
    }
  });
});
