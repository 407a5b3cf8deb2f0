/**
 * Runs in its own process without initSqlReview(), as a process would that forgot to call it:
 * every dialect must fail closed, never answer `read`.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { redactSql } from "./redact.ts";
import { reviewSql } from "./review-sql.ts";
import { SQL_DIALECTS } from "./review.ts";

describe("SQL review before initSqlReview()", () => {
  for (const dialect of SQL_DIALECTS) {
    test(`treats a plain SELECT as a write needing approval (${dialect})`, () => {
      const review = reviewSql("SELECT 1", dialect);
      assert.equal(review.class, "write");
      assert.equal(review.risk, "unavailable");
      assert.equal(review.findings[0]?.rule, "parser_unavailable");
      assert.deepEqual(review.statements, []);
    });

    test(`still refuses what the guards refuse (${dialect})`, () => {
      assert.equal(reviewSql("", dialect).class, "rejected");
    });

    test(`redacts to a hash only (${dialect})`, () => {
      assert.match(redactSql("SELECT 's3cr3t'", dialect), /^sha256:/);
    });
  }
});
