import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { findInvisibleCharacters } from "./invisible-characters.ts";
import { initSqlReview, reviewSql } from "./review-sql.ts";
import { SQL_DIALECTS } from "./review.ts";

describe("invisible_characters review rule", () => {
  before(async () => {
    await initSqlReview();
  });

  test("counts the characters and gives the first one with its position", () => {
    const sql = "SELECT 1 /* \u202e */, '\u200b\u{e0041}'";
    assert.deepEqual(findInvisibleCharacters(sql), {
      count: 3,
      position: sql.indexOf("\u202e"),
      first: "U+202E",
    });
    assert.equal(findInvisibleCharacters("SELECT '日本語 👍🏽 é'\r\n"), undefined);
  });

  for (const dialect of SQL_DIALECTS) {
    test(`warns by default on a bidirectional override in a comment (${dialect})`, () => {
      const sql = "SELECT id FROM accounts /* \u202e ;1 TCELES */ WHERE id = 1";
      const review = reviewSql(sql, dialect);
      const finding = review.findings[0];
      assert.equal(finding?.rule, "invisible_characters");
      assert.equal(finding.severity, "warn");
      assert.equal(finding.position, sql.indexOf("\u202e"));
      assert.match(finding.message, /U\+202E/);
      assert.equal(review.class, "read");
      assert.equal(review.risk, "high");
    });

    test(`finds a zero-width space in a string literal and says how many (${dialect})`, () => {
      const review = reviewSql("UPDATE accounts SET name = 'a\u200bb\u200b' WHERE id = 1", dialect);
      const finding = review.findings.find((f) => f.rule === "invisible_characters");
      assert.match(finding?.message ?? "", /2 of them, the first U\+200B/);
      assert.equal(review.class, "write");
    });

    test(`blocks when the rule is set to block, and stays quiet when off (${dialect})`, () => {
      const sql = "SELECT '\u2066x\u2069'";
      const blocked = reviewSql(sql, dialect, { rules: { invisible_characters: "block" } });
      assert.equal(blocked.findings[0]?.severity, "block");
      const off = reviewSql(sql, dialect, { rules: { invisible_characters: "off" } });
      assert.equal(
        off.findings.some((f) => f.rule === "invisible_characters"),
        false,
      );
      assert.equal(off.risk, "high", "risk describes the text, whatever the severity");
    });

    test(`leaves emoji, CJK and accented text alone (${dialect})`, () => {
      const review = reviewSql("SELECT '👍🏽', '日本語', 'çé' FROM accounts", dialect);
      assert.deepEqual(review.findings, []);
      assert.equal(review.risk, "low");
    });
  }

  test("an unparsable text with invisible characters still gets the finding", () => {
    const review = reviewSql("SELEKT \ufeff nonsense (((", "postgres");
    assert.equal(review.findings[0]?.rule, "invisible_characters");
    assert.notEqual(review.class, "read");
  });
});
