/**
 * Runs in its own process: initSqlReview() for some dialects loads only their parsers, the others
 * stay unassessed writes until they are loaded too (the bot loads what its databases need, and
 * again on a config reload that adds a dialect).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { initSqlReview, reviewSql } from "./review-sql.ts";

test("reviews the loaded dialect, fails closed on the others until they are loaded", async () => {
  await initSqlReview(["postgres"]);
  assert.equal(reviewSql("SELECT 1", "postgres").class, "read");
  for (const dialect of ["mysql", "sqlite"] as const) {
    const review = reviewSql("SELECT 1", dialect);
    assert.equal(review.class, "write", dialect);
    assert.equal(review.findings[0]?.rule, "parser_unavailable", dialect);
  }
  await initSqlReview(["mysql"]);
  assert.equal(reviewSql("SELECT 1", "mysql").class, "read");
  assert.equal(reviewSql("SELECT 1", "sqlite").findings[0]?.rule, "parser_unavailable");
  // Again, and all at once: each parser is loaded once and nothing that was loaded is lost.
  await Promise.all([initSqlReview(), initSqlReview(["sqlite", "postgres"])]);
  for (const dialect of ["postgres", "mysql", "sqlite"] as const)
    assert.equal(reviewSql("SELECT 1", dialect).class, "read", dialect);
});
