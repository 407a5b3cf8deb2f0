/**
 * T-SQL-SMUGGLING, PostgreSQL allowlist: a name the review cannot prove to be a vetted built-in
 * makes the statement something other than a read, wherever in the tree it sits.
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { initSqlReview, reviewSql } from "./review-sql.ts";

function verdict(sql: string) {
  const review = reviewSql(sql, "postgres");
  return { cls: review.class, unverified: review.unverifiedCalls ?? [] };
}

describe("PostgreSQL allowlist: the fail-closed default", () => {
  before(() => initSqlReview());

  test("a made-up function, operator or type is never a read", () => {
    for (const sql of ["SELECT my_func()", "SELECT 1 ### 2", "SELECT 'x'::mytype", "SELECT mytype 'x'"]) {
      const { cls, unverified } = verdict(sql);
      assert.equal(cls, "write", sql);
      assert.equal(unverified.length, 1, `${sql}: ${unverified.join(", ")}`);
    }
  });

  test("names the operator of ORDER BY … USING and of a comparison with a subquery", () => {
    assert.deepEqual(verdict("SELECT * FROM t ORDER BY id USING ###").unverified, ["operator ###"]);
    assert.deepEqual(verdict("SELECT 1 ### ANY (SELECT 1)").unverified, ["operator ###"]);
    assert.deepEqual(verdict("SELECT 1 OPERATOR(public.=) ALL (SELECT 1)").unverified, ["operator public.="]);
    assert.equal(verdict("SELECT * FROM t ORDER BY id USING >").cls, "read");
    assert.equal(verdict("SELECT 1 = ANY (SELECT 1)").cls, "read");
  });

  test("a spelling that is not pg_catalog's is not the built-in", () => {
    for (const sql of [
      "SELECT \"PG_CATALOG\".lower('x')",
      "SELECT \"LOWER\"('x')",
      "SELECT public.lower('x')",
      "SELECT db.pg_catalog.lower('x')",
      "SELECT 'x'::\"TEXT\"",
      "SELECT 1::public.int4",
    ]) {
      assert.equal(verdict(sql).cls, "write", sql);
    }
    assert.equal(verdict("SELECT \"pg_catalog\".\"lower\"('X'), PG_CATALOG.upper('x')").cls, "read");
  });

  test("SQL/JSON syntax that PostgreSQL 15 reads as a function call is not proven", () => {
    for (const sql of [
      "SELECT JSON_ARRAY(1, 2)",
      "SELECT JSON_OBJECT()",
      "SELECT JSON('{}')",
      "SELECT JSON_SCALAR(1)",
      "SELECT JSON_SERIALIZE('1'::json)",
      "SELECT JSON_VALUE('1'::jsonb, '$')",
      "SELECT json_arrayagg(x) FROM t",
    ]) {
      assert.equal(verdict(sql).cls, "write", sql);
    }
    for (const sql of [
      "SELECT JSON_OBJECT('a': 1)",
      "SELECT '{}' IS JSON OBJECT",
      "SELECT * FROM JSON_TABLE('[1]'::jsonb, '$[*]' COLUMNS (a int PATH '$'))",
    ]) {
      assert.equal(verdict(sql).cls, "read", sql);
    }
  });

  test("a pg_catalog view that reads server files is not a read; a table of that name elsewhere is", () => {
    assert.equal(verdict("SELECT * FROM pg_file_settings").cls, "write");
    assert.equal(verdict("SELECT * FROM pg_catalog.pg_hba_file_rules").cls, "write");
    assert.equal(verdict("SELECT * FROM test.pg_catalog.pg_ident_file_mappings").cls, "write");
    assert.equal(verdict("SELECT * FROM reports.pg_file_settings").cls, "read");
  });

  test("type input functions, which run a type given by OID, are not proven", () => {
    for (const sql of ["SELECT domain_in('1', 12345, -1)", "SELECT record_in('(1)', 16400, -1)"]) {
      const review = reviewSql(sql, "postgres");
      assert.equal(review.class, "write", sql);
      assert.match(review.findings[0]?.message ?? "", /given by OID/);
    }
  });

  test("reads of every clause stay reads", () => {
    assert.equal(
      verdict(
        "WITH w AS (SELECT id FROM t) SELECT DISTINCT ON (id) id, count(*) FILTER (WHERE id > 0), percentile_cont(0.5) WITHIN GROUP (ORDER BY id) FROM w, LATERAL generate_series(1, id) g GROUP BY id ORDER BY id USING <",
      ).cls,
      "read",
    );
  });
});
