import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { isMysqlBuiltinFunction } from "./mysql-allowlist.ts";
import { MYSQL_ONLY } from "./mysql-allowlist-notes.ts";
import { NEVER_A_READ_CATEGORIES, neverAReadCategory } from "./never-a-read.ts";
import { initSqlReview, reviewSql } from "./review-sql.ts";

describe("MySQL allowlist review", () => {
  before(() => initSqlReview());

  test("a made-up function is never a read, and the approver is told which call", () => {
    const review = reviewSql("SELECT dbward_made_up(1) FROM t", "mysql");
    assert.equal(review.class, "write");
    assert.deepEqual(review.unverifiedCalls, ["dbward_made_up()"]);
    assert.ok(
      review.findings.some((f) => f.rule === "unverified_call" && f.message.includes("dbward_made_up()")),
    );
    assert.equal(review.references, undefined);
  });

  test("a qualified stored function stays unverified unless trusted with exactly that name", () => {
    assert.equal(reviewSql("SELECT test.f(1)", "mysql", { trustedFunctions: ["other.f"] }).class, "write");
    assert.equal(reviewSql("SELECT f(1)", "mysql", { trustedFunctions: ["test.f"] }).class, "write");
    const trusted = reviewSql("SELECT TEST.F(1)", "mysql", { trustedFunctions: ["test.f"] });
    assert.equal(trusted.class, "read");
    assert.ok(trusted.findings.some((f) => f.rule === "trusted_function"));
    assert.deepEqual(trusted.references?.functions, ["test.f"]);
  });

  test("a never-a-read function cannot be trusted", () => {
    assert.equal(
      reviewSql("SELECT test.sleep(1)", "mysql", { trustedFunctions: ["test.sleep"] }).class,
      "write",
    );
  });

  test("a read lists the functions it calls for the agent, lower-cased as written", () => {
    const review = reviewSql("SELECT LOWER(owner), COUNT(*), Group_Concat(id) FROM t", "mysql");
    assert.equal(review.class, "read");
    assert.deepEqual([...(review.references?.functions ?? [])].sort(), ["count", "group_concat", "lower"]);
  });

  test("refuses a session buffer above the ceiling and allows one below it", () => {
    const above = reviewSql("SET sort_buffer_size = 1073741824; SELECT 1", "mysql");
    assert.equal(above.class, "rejected");
    assert.ok(above.findings.some((f) => f.rule === "unsafe_setting" && f.message.includes("ceiling")));
    assert.equal(reviewSql("SET sort_buffer_size = 1048576; SELECT 1", "mysql").class, "read");
    const raised = {
      settingCeilings: { memoryBytes: 2 * 1024 ** 3, hashMemMultiplier: 4, parallelWorkers: 4 },
    };
    assert.equal(reviewSql("SET sort_buffer_size = 1073741824; SELECT 1", "mysql", raised).class, "read");
  });

  test("a word called as a function that the tree does not show is caught by the token pass", () => {
    // node-sql-parser reads `BINARY x(1)` oddly; whatever it makes of it, x() is not proven.
    assert.notEqual(reviewSql("SELECT BINARY dbward_x(1)", "mysql").class, "read");
  });

  test("SQLite reads are proven by SQLite's own built-ins", () => {
    assert.equal(reviewSql("SELECT lower(owner), count(*) FROM accounts", "sqlite").class, "read");
    assert.equal(reviewSql("SELECT my_udf(owner) FROM accounts", "sqlite").class, "write");
  });

  test("no MySQL-only name is in a never-a-read category", () => {
    for (const name of Object.keys(MYSQL_ONLY)) {
      assert.equal(neverAReadCategory("mysql", name), undefined, name);
      assert.ok(isMysqlBuiltinFunction("mysql", name));
    }
    assert.ok(NEVER_A_READ_CATEGORIES.length > 0);
  });
});
