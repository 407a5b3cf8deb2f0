import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { MAX_SQL_BYTES, MAX_STATEMENTS } from "./guards.ts";
import { initSqlReview, reviewSql } from "./review-sql.ts";
import { SQL_DIALECTS } from "./review.ts";

describe("guards before parsing", () => {
  before(async () => {
    await initSqlReview();
  });

  for (const dialect of SQL_DIALECTS) {
    test(`refuses an empty text (${dialect})`, () => {
      const review = reviewSql("", dialect);
      assert.equal(review.class, "rejected");
      assert.equal(review.findings[0]?.rule, "empty_sql");
    });

    test(`refuses a text of only whitespace (${dialect})`, () => {
      assert.equal(reviewSql(" \n\t ", dialect).findings[0]?.rule, "empty_sql");
    });

    test(`refuses a NUL byte and says where it is (${dialect})`, () => {
      const review = reviewSql("SELECT 1\0; DROP TABLE t", dialect);
      assert.equal(review.class, "rejected");
      assert.deepEqual([review.findings[0]?.rule, review.findings[0]?.position], ["nul_byte", 8]);
    });

    test(`refuses a text larger than 1 MiB (${dialect})`, () => {
      const sql = `SELECT '${"x".repeat(MAX_SQL_BYTES)}'`;
      const review = reviewSql(sql, dialect);
      assert.equal(review.class, "rejected");
      assert.equal(review.findings[0]?.rule, "too_large");
    });

    test(`counts bytes, not characters, against the size limit (${dialect})`, () => {
      const sql = `SELECT '${"é".repeat(MAX_SQL_BYTES / 2)}'`;
      assert.equal(reviewSql(sql, dialect).findings[0]?.rule, "too_large");
    });

    test(`refuses text with an unpaired surrogate (${dialect})`, () => {
      assert.equal(reviewSql("SELECT '\uD800'", dialect).findings[0]?.rule, "invalid_text");
    });

    test(`refuses more than ${MAX_STATEMENTS} statements before parsing them (${dialect})`, () => {
      const review = reviewSql("SELECT 1;".repeat(MAX_STATEMENTS + 1), dialect);
      assert.equal(review.class, "rejected");
      assert.equal(review.findings[0]?.rule, "too_many_statements");
    });

    test(`treats exactly ${MAX_STATEMENTS} statements as a multi-statement text, not a flood (${dialect})`, () => {
      const review = reviewSql("SELECT 1;".repeat(MAX_STATEMENTS), dialect);
      assert.equal(review.class, "rejected");
      assert.equal(
        review.findings.some((f) => f.rule === "too_many_statements"),
        false,
      );
    });
  }

  test("does not count semicolons inside strings and comments as statements", () => {
    const sql = `SELECT '${";".repeat(200)}' /* ${";".repeat(200)} */`;
    assert.equal(reviewSql(sql, "postgres").class, "read");
    assert.equal(reviewSql(sql, "mysql").class, "read");
  });

  test("keeps a pasted surrogate pair (an emoji) as valid text", () => {
    assert.equal(reviewSql("SELECT '🙂'", "postgres").class, "read");
  });
});
