import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { MYSQL_READS, MYSQL_REVIEW_ONLY_READS } from "../../../test/sql-corpus/mysql-corpus.ts";
import { GRAMMAR_FORMS, matchGrammar } from "./mysql-grammar.ts";
import { REWRITE_KINDS, rewriteParserText } from "./mysql-parser-text.ts";
import { prepareMysqlText } from "./mysql-text-checks.ts";
import { initSqlReview, reviewSql } from "./review-sql.ts";

/** How each MySQL corpus read is recognised: the grammar's form, the parser's rewrites, or plain. */
function routes(sql: string): string[] {
  const prepared = prepareMysqlText(sql, "mysql");
  if (!prepared.ok) return ["unlexed"];
  return prepared.statements.map((s) => {
    const match = matchGrammar(sql, s.tokens, s.start, s.parserText);
    if (match !== undefined) return `grammar:${match.form}`;
    const rewritten = rewriteParserText(sql, s.tokens, s.start, s.parserText);
    return rewritten.rewrites.length === 0 ? "parser" : `rewrite:${rewritten.rewrites.join("+")}`;
  });
}

describe("MySQL grammar for what node-sql-parser cannot read", () => {
  before(() => initSqlReview());

  for (const c of MYSQL_REVIEW_ONLY_READS) {
    test(`${c.about} (review only)`, () => {
      const review = reviewSql(c.sql, "mysql");
      assert.equal(review.class, "read", JSON.stringify(review.findings));
    });
  }

  test("recognises corpus reads with every grammar form and rewrite, and prints the counts", () => {
    const reads = [...MYSQL_READS, ...MYSQL_REVIEW_ONLY_READS];
    const counts = new Map<string, number>();
    for (const c of reads) {
      for (const route of new Set(routes(c.sql))) counts.set(route, (counts.get(route) ?? 0) + 1);
    }
    const lines = [...counts.entries()].sort(([a], [b]) => a.localeCompare(b));
    console.log(`${reads.length} MySQL corpus reads:`);
    for (const [route, n] of lines) console.log(`  ${route.padEnd(32)} ${n}`);
    for (const form of GRAMMAR_FORMS) assert.ok((counts.get(`grammar:${form}`) ?? 0) > 0, form);
    for (const kind of REWRITE_KINDS) {
      assert.ok(
        lines.some(([route]) => route.startsWith("rewrite:") && route.includes(kind)),
        kind,
      );
    }
  });

  test("a SHOW form it does not know is not a read, even one the parser reads", () => {
    assert.equal(reviewSql("SHOW CREATE USER root", "mysql").class, "write");
    assert.equal(reviewSql("SHOW SLAVE STATUS", "mysql").class, "write");
    assert.equal(reviewSql("SHOW TABLES LIKE 'a' 'b'", "mysql").class, "write");
  });

  test("rewrites never hide a call", () => {
    for (const sql of [
      "SELECT id FROM t USE INDEX (my_func(1))",
      "SELECT * FROM JSON_TABLE(my_func(1), '$' COLUMNS (a INT PATH '$')) AS j",
      "SELECT * FROM JSON_TABLE('[]', '$' COLUMNS (a INT PATH '$' DEFAULT my_func() ON EMPTY)) AS j",
      "SELECT * FROM JSON_TABLE('[]', '$' COLUMNS (a my_type PATH '$')) AS j",
      "SELECT _utf8mb4 my_func(1)",
      "SELECT SQL_NO_CACHE my_func(1)",
      "SELECT PREVIOUS VALUE FOR my_func(1)",
      "EXPLAIN FORMAT=JSON SELECT my_func(1)",
    ]) {
      assert.notEqual(reviewSql(sql, "mysql").class, "read", sql);
    }
  });
});
