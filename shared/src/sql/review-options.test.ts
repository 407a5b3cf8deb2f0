import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { initSqlReview, reviewSql } from "./review-sql.ts";

describe("review options", () => {
  before(async () => {
    await initSqlReview();
  });

  test("refuses several statements by default", () => {
    const review = reviewSql(
      "UPDATE accounts SET balance = 1 WHERE id = 1; UPDATE ledger SET amount = 1 WHERE id = 1",
      "postgres",
    );
    assert.equal(review.class, "rejected");
    assert.equal(review.findings[0]?.rule, "multiple_statements");
  });

  test("with multipleStatements allow, reviews a migration as its strictest statement", () => {
    const sql =
      "CREATE TABLE accounts_archive (id int); INSERT INTO accounts_archive SELECT id FROM accounts";
    const review = reviewSql(sql, "postgres", { multipleStatements: "allow" });
    assert.equal(review.class, "ddl");
    assert.equal(review.risk, "high");
  });

  test("with multipleStatements allow, a read stays a read", () => {
    assert.equal(reviewSql("SELECT 1; SELECT 2", "mysql", { multipleStatements: "allow" }).class, "read");
  });

  test("with multipleStatements allow, one refused statement still refuses the text", () => {
    const review = reviewSql("SELECT 1; GRANT ALL ON accounts TO x", "postgres", {
      multipleStatements: "allow",
    });
    assert.equal(review.class, "rejected");
  });

  test("with multipleStatements allow, transaction control is still refused", () => {
    const sql = "BEGIN; UPDATE accounts SET balance = 1 WHERE id = 1; COMMIT";
    assert.equal(reviewSql(sql, "mysql", { multipleStatements: "allow" }).class, "rejected");
  });

  test("treats a configured function as having side effects, by its last name part", () => {
    const options = { sideEffectFunctions: ["billing.charge_card"] };
    const pg = reviewSql("SELECT billing.charge_card(1)", "postgres", options);
    assert.equal(pg.class, "write");
    assert.equal(pg.findings[0]?.rule, "side_effect_function");
    assert.equal(reviewSql("SELECT CHARGE_CARD(1)", "mysql", options).class, "write");
    // Without the config it is still not a read: an unknown function is never presumed harmless.
    const unknown = reviewSql("SELECT charge_card(1)", "postgres");
    assert.equal(unknown.class, "write");
    assert.deepEqual(unknown.unverifiedCalls, ["charge_card()"]);
  });

  test("reads a SQLite text with the SQLite dialect", () => {
    assert.equal(reviewSql("SELECT * FROM accounts", "sqlite").class, "read");
    assert.equal(reviewSql("SELECT writefile('/tmp/x', 'y')", "sqlite").class, "write");
  });

  test("keeps a backslash before a line-continued PostgreSQL string a read", () => {
    assert.equal(reviewSql("SELECT 'C:\\dir'\n'x'", "postgres").class, "read");
  });

  test("refuses a continued PostgreSQL string whose end moves with backslash escapes", () => {
    assert.equal(reviewSql("SELECT 'a'\n'b\\''; DROP TABLE accounts; --'", "postgres").class, "rejected");
  });
});
