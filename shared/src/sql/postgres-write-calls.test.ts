/**
 * A PostgreSQL write's calls: a write needs a person anyway, but whatever touches its text before
 * approval (a planner folding functions, a dry run) must know what it calls, and a write that
 * calls something the allowlist cannot prove free of side effects is never auto-approved.
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { initSqlReview, reviewSql } from "./review-sql.ts";

const callsOf = (sql: string): readonly string[] => reviewSql(sql, "postgres").unverifiedCalls ?? [];

describe("PostgreSQL writes name the calls the allowlist cannot prove", () => {
  before(() => initSqlReview());

  test("a write of plain values and vetted built-ins names none", () => {
    for (const sql of [
      "UPDATE orders SET n = n + 1 WHERE id = 3",
      "DELETE FROM orders WHERE created < now() - interval '1 day'",
      "INSERT INTO t (a, b) VALUES (lower('X'), 2)",
      "INSERT INTO t SELECT * FROM u",
    ]) {
      assert.deepEqual(callsOf(sql), [], sql);
      assert.equal(reviewSql(sql, "postgres").class, "write", sql);
    }
  });

  test("an unknown function, anywhere in the write, is named", () => {
    assert.deepEqual(callsOf("UPDATE orders SET n = f(n) WHERE id = 3"), ["f()"]);
    assert.deepEqual(callsOf("DELETE FROM orders WHERE id = (SELECT pick_one())"), ["pick_one()"]);
    assert.deepEqual(callsOf("INSERT INTO t VALUES (app.next_id())"), ["app.next_id()"]);
  });

  test("a known side effect is named too", () => {
    assert.deepEqual(callsOf("UPDATE orders SET n = pg_advisory_lock(1) WHERE id = 3"), [
      "pg_advisory_lock()",
    ]);
    assert.ok(callsOf("DELETE FROM t WHERE pg_terminate_backend(42)").includes("pg_terminate_backend()"));
  });
});
