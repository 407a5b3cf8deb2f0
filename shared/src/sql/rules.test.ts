import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { initSqlReview, reviewSql } from "./review-sql.ts";
import type { SqlDialect, SqlReviewOptions } from "./review.ts";
import {
  DEFAULT_RULE_SEVERITIES,
  findingForHit,
  RULE_TEXT,
  SQL_REVIEW_RULES,
  type SqlReviewRule,
} from "./rules.ts";

function rulesOf(sql: string, dialect: SqlDialect, options?: SqlReviewOptions): string[] {
  return reviewSql(sql, dialect, options).findings.map((f) => f.rule);
}

const TRIPS: readonly (readonly [SqlReviewRule, SqlDialect, string])[] = [
  ["no_where_delete", "postgres", "DELETE FROM accounts"],
  ["no_where_delete", "mysql", "DELETE FROM accounts"],
  ["no_where_delete", "postgres", "DELETE FROM accounts WHERE true"],
  ["no_where_delete", "mysql", "DELETE FROM accounts WHERE 1 = 1"],
  ["no_where_delete", "postgres", "WITH d AS (DELETE FROM accounts RETURNING *) SELECT * FROM d"],
  ["no_where_update", "postgres", "UPDATE accounts SET balance = 0"],
  ["no_where_update", "mysql", "UPDATE accounts SET balance = 0 WHERE TRUE"],
  ["no_where_update", "postgres", "EXPLAIN ANALYZE UPDATE accounts SET balance = 0"],
  ["drop_table", "postgres", "DROP TABLE accounts"],
  ["drop_table", "mysql", "DROP TABLE accounts"],
  ["truncate", "postgres", "TRUNCATE accounts"],
  ["truncate", "mysql", "TRUNCATE TABLE accounts"],
  ["drop_column", "postgres", "ALTER TABLE accounts DROP COLUMN note"],
  ["drop_column", "mysql", "ALTER TABLE accounts DROP COLUMN note"],
  ["not_null_without_default", "postgres", "ALTER TABLE accounts ADD COLUMN tier int NOT NULL"],
  ["not_null_without_default", "postgres", "ALTER TABLE accounts ADD COLUMN tier int PRIMARY KEY"],
  ["not_null_without_default", "mysql", "ALTER TABLE accounts ADD COLUMN tier INT NOT NULL"],
  ["create_index_not_concurrently", "postgres", "CREATE INDEX i ON accounts (owner)"],
  ["alter_column_type", "postgres", "ALTER TABLE accounts ALTER COLUMN balance TYPE bigint"],
  ["alter_column_type", "mysql", "ALTER TABLE accounts MODIFY balance BIGINT"],
  ["large_in_list", "postgres", `SELECT * FROM accounts WHERE id IN (${range(101)})`],
  ["large_in_list", "postgres", `SELECT * FROM accounts WHERE id = ANY(ARRAY[${range(101)}])`],
  ["large_in_list", "mysql", `SELECT * FROM accounts WHERE id NOT IN (${range(101)})`],
  ["drop_index", "postgres", "DROP INDEX accounts_owner_idx"],
  ["drop_index", "mysql", "DROP INDEX accounts_owner_idx ON accounts"],
  ["drop_view", "postgres", "DROP MATERIALIZED VIEW accounts_mv"],
  ["drop_view", "mysql", "DROP VIEW accounts_rich"],
  ["drop_sequence", "postgres", "DROP SEQUENCE accounts_seq"],
  ["create_sequence", "postgres", "CREATE SEQUENCE accounts_seq"],
  ["cascade", "postgres", "DROP VIEW accounts_rich CASCADE"],
  ["cascade", "postgres", "TRUNCATE accounts CASCADE"],
  ["cascade", "postgres", "ALTER TABLE accounts DROP COLUMN note CASCADE"],
  ["cascade", "mysql", "DROP TABLE accounts CASCADE"],
];

const QUIET: readonly (readonly [SqlReviewRule, SqlDialect, string])[] = [
  ["no_where_delete", "postgres", "DELETE FROM accounts WHERE id = 1"],
  ["no_where_delete", "postgres", "EXPLAIN DELETE FROM accounts"],
  ["no_where_update", "mysql", "UPDATE accounts SET balance = 0 WHERE id = 1"],
  ["not_null_without_default", "postgres", "ALTER TABLE accounts ADD COLUMN tier int NOT NULL DEFAULT 0"],
  ["not_null_without_default", "postgres", "ALTER TABLE accounts ADD COLUMN n bigserial NOT NULL"],
  [
    "not_null_without_default",
    "postgres",
    "ALTER TABLE accounts ADD COLUMN n int GENERATED ALWAYS AS IDENTITY",
  ],
  ["not_null_without_default", "mysql", "ALTER TABLE accounts ADD COLUMN tier INT NOT NULL DEFAULT 0"],
  ["create_index_not_concurrently", "postgres", "CREATE INDEX CONCURRENTLY i ON accounts (owner)"],
  ["large_in_list", "postgres", `SELECT * FROM accounts WHERE id IN (${range(100)})`],
  ["large_in_list", "mysql", `SELECT * FROM accounts WHERE id IN (${range(100)})`],
  ["cascade", "postgres", "DROP TABLE accounts"],
];

describe("review rules", () => {
  before(async () => {
    await initSqlReview();
  });

  for (const [rule, dialect, sql] of TRIPS) {
    test(`${rule} trips on ${dialect}: ${sql.slice(0, 70)}`, () => {
      assert.ok(rulesOf(sql, dialect).includes(rule), JSON.stringify(reviewSql(sql, dialect).findings));
    });
  }

  for (const [rule, dialect, sql] of QUIET) {
    test(`${rule} stays quiet on ${dialect}: ${sql.slice(0, 70)}`, () => {
      assert.equal(rulesOf(sql, dialect).includes(rule), false);
    });
  }

  test("blocks the four data-losing rules by default and warns for the rest", () => {
    const blocking = SQL_REVIEW_RULES.filter((r) => DEFAULT_RULE_SEVERITIES[r] === "block");
    assert.deepEqual(blocking, ["no_where_delete", "no_where_update", "drop_table", "truncate"]);
    assert.ok(SQL_REVIEW_RULES.every((r) => DEFAULT_RULE_SEVERITIES[r] !== "off"));
  });

  test("gives every rule a message, a one-line hint and a risk", () => {
    for (const rule of SQL_REVIEW_RULES) {
      const text = RULE_TEXT[rule];
      assert.ok(text.message.length > 0 && text.hint.length > 0 && !text.hint.includes("\n"), rule);
    }
  });

  test("a rule set to warn no longer blocks", () => {
    const review = reviewSql("DELETE FROM accounts", "postgres", { rules: { no_where_delete: "warn" } });
    assert.equal(review.findings.find((f) => f.rule === "no_where_delete")?.severity, "warn");
  });

  test("a rule set to off leaves no finding, but the risk still reflects the statement", () => {
    const review = reviewSql("DROP TABLE accounts", "mysql", { rules: { drop_table: "off" } });
    assert.equal(
      review.findings.some((f) => f.rule === "drop_table"),
      false,
    );
    assert.equal(review.risk, "high");
  });

  test("a warning rule can be raised to block", () => {
    const review = reviewSql("CREATE INDEX i ON accounts (owner)", "postgres", {
      rules: { create_index_not_concurrently: "block" },
    });
    assert.equal(review.findings[0]?.severity, "block");
  });

  test("a finding carries the rule, severity, position and a hint", () => {
    const sql = "SELECT 1;\nDELETE FROM accounts";
    const review = reviewSql(sql, "postgres", { multipleStatements: "allow" });
    const finding = review.findings.find((f) => f.rule === "no_where_delete");
    assert.equal(finding?.severity, "block");
    assert.equal(finding?.position, sql.indexOf("accounts"));
    assert.match(finding?.message ?? "", /accounts/);
    assert.ok((finding?.hint ?? "").length > 0);
  });

  test("positions count characters, not UTF-8 bytes, in PostgreSQL text", () => {
    const sql = "SELECT 'ééé', pg_sleep(1)";
    const finding = reviewSql(sql, "postgres").findings.find((f) => f.rule === "side_effect_function");
    assert.equal(finding?.position, sql.indexOf("pg_sleep"));
  });

  test("positions in MySQL text are offsets into the whole text, not the statement", () => {
    const sql = "SET max_statement_time = 5; SELECT SLEEP(1)";
    const finding = reviewSql(sql, "mysql").findings.find((f) => f.rule === "side_effect_function");
    assert.equal(finding?.position, sql.indexOf("SLEEP"));
  });

  test("mixed_ddl_dml warns when several statements mix schema and data changes", () => {
    const sql = "ALTER TABLE accounts ADD COLUMN tier int; UPDATE accounts SET tier = 1 WHERE id = 1";
    const review = reviewSql(sql, "postgres", { multipleStatements: "allow" });
    assert.equal(review.class, "ddl");
    assert.ok(review.findings.some((f) => f.rule === "mixed_ddl_dml" && f.severity === "warn"));
  });

  test("findingForHit adds the detail to the message", () => {
    const finding = findingForHit({ rule: "drop_column", detail: "note", position: 3 }, undefined);
    assert.deepEqual(finding, {
      rule: "drop_column",
      severity: "warn",
      message: "dropping a column deletes its data (note)",
      hint: RULE_TEXT.drop_column.hint,
      position: 3,
    });
  });
});

function range(n: number): string {
  return Array.from({ length: n }, (_, i) => String(i + 1)).join(", ");
}
