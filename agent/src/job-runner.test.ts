/**
 * The job runner executing verified jobs, with real tokens signed by shared's
 * `signExecutionToken` and real execution on SQLite files.
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { initSqlReview, type ClaimResponse } from "@dbward/shared";
import { executeOptions, runJob } from "./job-runner.ts";
import { jobFixture as setup } from "../../test/support/agent/job-fixture.ts";
import { generateSigningKey, signedClaim, testDatabase } from "../../test/support/agent/unit-helpers.ts";

// startAgent loads the reviewer's parsers; these tests call runJob directly.
before(() => initSqlReview());

describe("runJob: execution", () => {
  test("runs a verified read and streams its rows to the bot", async (t) => {
    const s = setup(t);
    const { body, rows } = await s.run(s.claim());
    assert.deepEqual(body, {
      outcome: "succeeded",
      duration_ms: 0,
      streamed: { columns: ["id", "name"], chunks: 1, row_count: 3, bytes: 24, truncated_by: null },
    });
    assert.deepEqual(rows, [
      [1, "a"],
      [2, "b"],
      [3, "c"],
    ]);
  });

  test("runs a verified write, commits it and reports the rows it changed", async (t) => {
    const s = setup(t);
    const { body } = await s.run(
      s.claim({ sql: "UPDATE items SET name = 'z' WHERE id = 2", operation: "write" }),
    );
    assert.equal(body.outcome, "succeeded");
    assert.equal(body.affected_rows, 1);
    const db = new Database(s.file, { readonly: true });
    assert.equal(db.prepare("SELECT name FROM items WHERE id = 2").pluck().get(), "z");
    db.close();
  });

  test("stops at the row cap and reports the result truncated by rows", async (t) => {
    const s = setup(t);
    const { body, rows } = await s.run(s.claim({}, { row_cap: 2 }));
    assert.equal(body.streamed?.truncated_by, "rows");
    assert.equal(body.streamed?.row_count, 2);
    assert.equal(rows.length, 2);
  });

  test("stops at the byte cap and reports the result truncated by bytes", async (t) => {
    const s = setup(t);
    // Each row is 8 bytes of NDJSON (`[1,"a"]` and a newline): 20 bytes hold two rows.
    const { body, rows } = await s.run(s.claim({}, { result_max_bytes: 20 }));
    assert.equal(body.streamed?.truncated_by, "bytes");
    assert.deepEqual(rows, [
      [1, "a"],
      [2, "b"],
    ]);
  });

  test("reports rows the bot could not take as undelivered, never as complete", async (t) => {
    const s = setup(t);
    const deps = s.deps();
    const body = await runJob(s.claim(), deps, {
      signal: new AbortController().signal,
      sendChunk: () => Promise.reject(new Error("bot unreachable")),
      onUploadStop: () => undefined,
    });
    assert.equal(body.outcome, "succeeded");
    assert.deepEqual(body.streamed, {
      columns: ["id", "name"],
      chunks: 0,
      row_count: 0,
      bytes: 0,
      truncated_by: "undelivered",
    });
  });

  test("reports a job stopped by the bot's cancel as cancelled, and rolls a write back", async (t) => {
    const s = setup(t);
    const abort = new AbortController();
    abort.abort("cancelled");
    const { body } = await s.run(
      s.claim({ sql: "UPDATE items SET name = 'z'", operation: "write" }),
      abort.signal,
    );
    assert.equal(body.outcome, "cancelled");
    assert.equal(body.error?.code, "execution.cancelled");
    const db = new Database(s.file, { readonly: true });
    assert.deepEqual(db.prepare("SELECT name FROM items ORDER BY id").pluck().all(), ["a", "b", "c"]);
    db.close();
  });

  test("reports a job stopped because its lease was lost with job.lease_lost", async (t) => {
    const s = setup(t);
    const abort = new AbortController();
    abort.abort("lease_lost");
    const { body } = await s.run(s.claim(), abort.signal);
    assert.equal(body.outcome, "cancelled");
    assert.equal(body.error?.code, "job.lease_lost");
  });

  test("reports a database error as failed with execution.failed", async (t) => {
    const s = setup(t);
    const { body } = await s.run(s.claim({ sql: "SELECT id FROM no_such_table" }));
    assert.equal(body.outcome, "failed");
    assert.equal(body.error?.code, "execution.failed");
    assert.match(body.error?.message ?? "", /no_such_table/);
  });

  test("reports a statement stopped by its timeout as timed_out", async (t) => {
    const s = setup(t);
    const sql = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c";
    const { body } = await s.run(
      s.claim({ sql, operation: "write" }, { statement_timeout_ms: 200, row_cap: 1 }),
    );
    assert.equal(body.outcome, "timed_out");
    assert.equal(body.error?.code, "execution.timeout");
  });

  test("hides an unexpected driver error from the bot and reports it as internal", async (t) => {
    const s = setup(t, () => ({
      stream: () => Promise.reject(new TypeError("Invalid URL postgres://u:secret@h")),
      execute: () => Promise.reject(new TypeError("unused")),
      close: () => Promise.resolve(),
    }));
    const { body } = await s.run(s.claim());
    assert.equal(body.outcome, "failed");
    assert.equal(body.error?.code, "internal");
    assert.ok(!JSON.stringify(body).includes("secret"));
  });

  test("records the token id before the statement starts", async (t) => {
    let recordedDuringExecution: boolean | undefined;
    const s = setup(t, (inner) => ({
      stream: (sql, options, sink) => {
        recordedDuringExecution = s.ledgerSize() === 1;
        return inner.stream(sql, options, sink);
      },
      execute: (sql, options) => inner.execute(sql, options),
      close: () => inner.close(),
    }));
    await s.run(s.claim());
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
    assert.deepEqual(executeOptions(claim(999_999, 2_000_000), db, "write"), {
      operation: "write",
      statementTimeoutMs: 30_000,
      rowCap: 1_000_000,
    });
  });

  test("ignores a zero, negative or fractional limit, which could mean no limit at all", () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      const options = executeOptions(claim(bad, bad), db, "read");
      assert.deepEqual([options.statementTimeoutMs, options.rowCap], [30_000, 1_000_000], String(bad));
    }
  });
});
