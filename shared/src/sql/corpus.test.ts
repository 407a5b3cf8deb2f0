import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { SQL_CORPUS } from "../../../test/sql-corpus/corpus.ts";
import { initSqlReview, reviewSql } from "./review-sql.ts";

describe("SQL review corpus", () => {
  before(async () => {
    await initSqlReview();
  });

  test("holds at least 150 statements across PostgreSQL and MySQL", () => {
    const pg = SQL_CORPUS.filter((c) => c.dialect === "postgres").length;
    const my = SQL_CORPUS.filter((c) => c.dialect === "mysql").length;
    assert.ok(pg + my >= 150, `${pg} + ${my}`);
    assert.ok(my >= 60, `only ${my} MySQL cases`);
  });

  test("gives every write and DDL case an effect to check or a reason it cannot be checked", () => {
    const missing = SQL_CORPUS.filter(
      (c) =>
        (c.class === "write" || c.class === "ddl") && c.effect === undefined && c.unprovable === undefined,
    );
    assert.deepEqual(missing, []);
  });

  for (const c of SQL_CORPUS) {
    test(`${c.dialect}: ${c.about} (${c.class})`, () => {
      const review = reviewSql(c.sql, c.dialect);
      assert.equal(review.class, c.class, `${c.sql}\n${JSON.stringify(review.findings, null, 2)}`);
      if (c.rule !== undefined) {
        assert.ok(
          review.findings.some((f) => f.rule === c.rule),
          `expected a ${c.rule} finding for ${c.sql}: ${JSON.stringify(review.findings)}`,
        );
      }
      if (review.class !== "read") return;
      assert.equal(review.risk, "low");
    });
  }
});
