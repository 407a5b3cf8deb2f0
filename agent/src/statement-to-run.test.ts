/** How the agent turns its own review of a text into what a driver runs. */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { initSqlReview, reviewSql, type SqlDialect } from "@dbward/shared";
import { statementToRun } from "./job-runner.ts";

before(() => initSqlReview());

const plan = (sql: string, dialect: SqlDialect = "postgres") =>
  statementToRun(sql, reviewSql(sql, dialect).statements);

describe("statementToRun", () => {
  test("a single statement runs as the whole text, exactly as approved", () => {
    const sql = "  SELECT 1 ; -- trailing note\n";
    assert.deepEqual(plan(sql), { sql, session: [] });
  });

  test("safe settings are split off and run before the one statement", () => {
    const sql = "SET statement_timeout = '5s';\n/* why */ SET LOCAL work_mem = '64MB';\nSELECT * FROM t";
    assert.deepEqual(plan(sql), {
      sql: "SELECT * FROM t",
      session: ["SET statement_timeout = '5s'", "SET LOCAL work_mem = '64MB'"],
    });
    assert.deepEqual(plan("SET time_zone = '+00:00'; SELECT NOW()", "mysql"), {
      sql: "SELECT NOW()",
      session: ["SET time_zone = '+00:00'"],
    });
  });

  test("a text the reviewer could not split runs whole, where one-statement protocols guard it", () => {
    assert.deepEqual(statementToRun("SELEC nonsense", []), { sql: "SELEC nonsense", session: [] });
  });

  test("anything but settings followed by one statement is refused", () => {
    const main = (text: string) => ({ text, start: 0, end: text.length, kind: "main" as const });
    const session = (text: string) => ({ text, start: 0, end: text.length, kind: "session" as const });
    assert.equal(statementToRun("x", [main("SELECT 1"), main("SELECT 2")]), undefined);
    assert.equal(statementToRun("x", [main("SELECT 1"), session("SET work_mem = '1MB'")]), undefined);
    assert.equal(statementToRun("x", [session("SET work_mem = '1MB'")]), undefined);
  });
});
