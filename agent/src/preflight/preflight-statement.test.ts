/**
 * What a preflight accepts, read by the agent's own SQL review: one SELECT/INSERT/UPDATE/DELETE
 * (REPLACE on MySQL) for an EXPLAIN, one change for a dry run; every other text is refused with
 * `sql.rejected` and a reason, before anything reaches a server.
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { DbwardError, initSqlReview } from "@dbward/shared";
import {
  assertPreflightStatement,
  type PreflightDialect,
  type PreflightPurpose,
} from "./preflight-statement.ts";

before(() => initSqlReview(["postgres", "mysql"]));

function refusal(sql: string, dialect: PreflightDialect, purpose: PreflightPurpose): string {
  try {
    assertPreflightStatement(sql, dialect, purpose);
  } catch (err) {
    assert.ok(err instanceof DbwardError);
    assert.equal(err.code, "sql.rejected");
    return err.message;
  }
  return assert.fail(`${sql} was accepted`);
}

for (const dialect of ["postgres", "mysql"] as const) {
  describe(`${dialect} preflight statements`, () => {
    test("an EXPLAIN takes a SELECT, INSERT, UPDATE or DELETE, and reports its kind from the first token", () => {
      const cases = [
        ["  /* why */ SELECT 1", "select"],
        ["-- note\nupdate t set n = 1 where id = 2", "update"],
        ["DELETE FROM t WHERE id = 1", "delete"],
        ["INSERT INTO t (id) VALUES (1)", "insert"],
        ["WITH a AS (SELECT 1 AS x) SELECT x FROM a", "with"],
      ] as const;
      for (const [sql, kind] of cases)
        assert.equal(assertPreflightStatement(sql, dialect, "explain").kind, kind);
    });

    test("the statement is returned without what precedes it, and without its semicolon", () => {
      const statement = assertPreflightStatement("/* a */ SELECT 1 ;", dialect, "explain");
      assert.equal(statement.text, "SELECT 1");
      assert.equal(statement.reviewClass, "read");
    });

    test("a text that is itself an EXPLAIN, EXPLAIN ANALYZE or DESCRIBE is refused, after comments too", () => {
      assert.match(refusal("EXPLAIN SELECT 1", dialect, "explain"), /itself an EXPLAIN/);
      assert.match(
        refusal("/* x */ -- y\n explain analyze update t set n = 1", dialect, "explain"),
        /itself an EXPLAIN/,
      );
      assert.match(
        refusal("EXPLAIN ANALYZE DELETE FROM t WHERE id = 1", dialect, "dry_run"),
        /itself an EXPLAIN/,
      );
      assert.match(refusal("DESCRIBE SELECT 1", dialect, "explain"), /itself a DESCRIBE/);
    });

    test("several statements, or session settings before one, are refused", () => {
      assert.match(refusal("SELECT 1; SELECT 2", dialect, "explain"), /not allowed/);
      assert.match(
        refusal("UPDATE t SET n = 1 WHERE id = 1; DELETE FROM t WHERE id = 2", dialect, "dry_run"),
        /not allowed/,
      );
    });

    test("DDL is refused for both purposes", () => {
      assert.match(refusal("CREATE TABLE x (a int)", dialect, "explain"), /DDL/);
      assert.match(refusal("DROP TABLE x", dialect, "dry_run"), /DDL/);
    });

    test("a dry run refuses reads, a SELECT … FOR UPDATE and a WITH query", () => {
      assert.match(
        refusal("SELECT 1", dialect, "dry_run"),
        /dry run takes one INSERT, UPDATE or DELETE; this is a SELECT/,
      );
      assert.match(refusal("SELECT * FROM t FOR UPDATE", dialect, "dry_run"), /this is a SELECT/);
      assert.match(
        refusal("WITH a AS (SELECT 1 AS x) SELECT x FROM a", dialect, "dry_run"),
        /this is a WITH/,
      );
    });

    test("a dry run takes one INSERT, UPDATE or DELETE", () => {
      for (const sql of [
        "INSERT INTO t (id) VALUES (1)",
        "UPDATE t SET n = 1 WHERE id = 1",
        "DELETE FROM t WHERE id = 1",
      ]) {
        assert.equal(assertPreflightStatement(sql, dialect, "dry_run").reviewClass, "write");
      }
    });
  });
}

describe("engine-specific statements", () => {
  test("REPLACE is a MySQL change; PostgreSQL has none", () => {
    assert.equal(
      assertPreflightStatement("REPLACE INTO t (id) VALUES (1)", "mysql", "dry_run").kind,
      "replace",
    );
    assert.match(refusal("LOCK TABLE t", "postgres", "explain"), /this is a LOCK statement/);
  });

  test("PostgreSQL session settings before the statement are refused: a preflight runs one statement", () => {
    assert.match(
      refusal("SET work_mem = '4MB'; SELECT 1", "postgres", "explain"),
      /alone, without session settings/,
    );
  });

  test("a MySQL ANALYZE TABLE, which the parser cannot read, is refused as an ANALYZE", () => {
    assert.match(refusal("ANALYZE TABLE t", "mysql", "explain"), /itself an ANALYZE/);
  });

  test("a MySQL executable comment is refused by the review", () => {
    assert.match(refusal("/*!50000 SELECT 1 */", "mysql", "explain"), /not allowed/);
  });
});
