/**
 * A MySQL/MariaDB write's calls: a write needs a person anyway, but a dry run runs it before
 * approval and must know what it calls (a stored function may write to a MyISAM table, which no
 * ROLLBACK undoes), and a write that calls something the allowlist cannot prove free of side
 * effects is never auto-approved. Its class and risk stay what they were.
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { initSqlReview, reviewSql } from "./review-sql.ts";

const callsOf = (sql: string): readonly string[] => reviewSql(sql, "mysql").unverifiedCalls ?? [];

describe("MySQL writes name the calls the allowlist cannot prove", () => {
  before(() => initSqlReview());

  test("a write of plain values, vetted built-ins and write-only syntax names none", () => {
    for (const sql of [
      "UPDATE orders SET n = n + 1 WHERE id = 3",
      "DELETE FROM orders WHERE created < now() - INTERVAL 1 DAY",
      "INSERT INTO t (a, b) VALUES (lower('X'), 2)",
      "INSERT INTO test.`t` (a) SELECT a FROM u",
      "INSERT t (a) VALUES (1)",
      "INSERT IGNORE INTO t (a) VALUES (DEFAULT)",
      "REPLACE INTO t (a) VALUES (1)",
      "INSERT INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE a = VALUES(a) + 1",
      "DELETE FROM t WHERE id = 1 RETURNING id",
      "DELETE o FROM orders o JOIN items i ON i.o = o.id WHERE i.x = 1",
    ]) {
      assert.deepEqual(callsOf(sql), [], sql);
      assert.equal(reviewSql(sql, "mysql").class, "write", sql);
    }
  });

  test("an unknown or stored function, anywhere in the write, is named", () => {
    assert.deepEqual(callsOf("UPDATE orders SET n = f(n) WHERE id = 3"), ["f()"]);
    assert.deepEqual(callsOf("DELETE FROM orders WHERE id = (SELECT pick_one())"), ["pick_one()"]);
    assert.deepEqual(callsOf("INSERT INTO t VALUES (app.next_id())"), ["app.next_id()"]);
    assert.deepEqual(callsOf("INSERT INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE a = f(a)"), ["f()"]);
    assert.ok(
      callsOf("INSERT INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE a = VALUES(f(a))").includes("f()"),
    );
  });

  test("a known side effect is named too, and a sequence's next value", () => {
    assert.deepEqual(callsOf("UPDATE orders SET n = sleep(1) WHERE id = 3"), ["sleep()"]);
    assert.deepEqual(callsOf("DELETE FROM t WHERE get_lock('x', 1) = 1"), ["get_lock()"]);
    assert.deepEqual(callsOf("INSERT INTO t VALUES (NEXT VALUE FOR s)"), ["nextval()"]);
  });

  test("the class and risk of a write that calls something stay those of a write", () => {
    const plain = reviewSql("UPDATE orders SET n = 1 WHERE id = 3", "mysql");
    const calling = reviewSql("UPDATE orders SET n = f(1) WHERE id = 3", "mysql");
    assert.equal(calling.class, "write");
    assert.equal(calling.risk, plain.risk);
  });

  test("a function trusted by config is not named", () => {
    assert.deepEqual(
      reviewSql("UPDATE t SET n = test.f(n) WHERE id = 1", "mysql", { trustedFunctions: ["test.f"] })
        .unverifiedCalls ?? [],
      [],
    );
  });
});
