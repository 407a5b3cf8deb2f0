import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { sha256Hex } from "../encoding.ts";
import { redactSql, sqlFingerprint } from "./redact.ts";
import { initSqlReview } from "./review-sql.ts";
import type { SqlDialect } from "./review.ts";

/** Each text hides "s3cr3t" (or the number 4242…) in a different kind of literal or comment. */
const LEAKS: readonly (readonly [SqlDialect, string])[] = [
  ["postgres", "SELECT * FROM accounts WHERE owner = 's3cr3t'"],
  ["postgres", "SELECT E's3cr3t\\'s' AS x"],
  ["postgres", "SELECT e'\\x73' || 's3cr3t'"],
  ["postgres", "SELECT $$s3cr3t$$"],
  ["postgres", "SELECT $tag$ it's s3cr3t $tag$"],
  ["postgres", "DO $$ BEGIN PERFORM 's3cr3t'; END $$"],
  ["postgres", "SELECT 1 /* password s3cr3t */"],
  ["postgres", "SELECT 1 -- s3cr3t"],
  ["postgres", "SELECT 1 /* nested /* s3cr3t */ still */"],
  ["postgres", "SELECT 4242424242"],
  ["postgres", "SELECT -4242.4242e10"],
  ["postgres", "SELECT 0x4242AB, 0o4242, 0b1010, 4_242_424"],
  ["postgres", "SELECT B'1010101010', X'4242ABCD'"],
  ["postgres", "SELECT U&'s3cr3t\\0041'"],
  ["postgres", "SELECT N's3cr3t'"],
  ["postgres", "SELECT 's3' \n 'cr3t'"],
  ["postgres", "CREATE ROLE x PASSWORD 's3cr3t'"],
  ["postgres", "SELECT interval '4242 days'"],
  ["mysql", "SELECT * FROM accounts WHERE owner = 's3cr3t'"],
  ["mysql", 'SELECT * FROM accounts WHERE owner = "s3cr3t"'],
  ["mysql", "SELECT 'it\\'s s3cr3t'"],
  ["mysql", "SELECT 1 # s3cr3t"],
  ["mysql", "SELECT 1 -- s3cr3t"],
  ["mysql", "SELECT 1 /* s3cr3t */"],
  ["mysql", "SELECT 1 /*+ s3cr3t */"],
  ["mysql", "SELECT 4242424242, 42.42e42"],
  ["mysql", "SELECT 0x4242AB, X'4242', b'0101', 0b0101"],
  ["mysql", "SELECT N's3cr3t', _utf8mb4's3cr3t'"],
  ["mysql", "SET @v = 's3cr3t'"],
  ["mysql", "CREATE USER 'u' IDENTIFIED BY 's3cr3t'"],
  ["sqlite", "SELECT * FROM accounts WHERE owner = 's3cr3t' -- 4242"],
  ["sqlite", "SELECT X'4242'"],
];

describe("redactSql", () => {
  before(async () => {
    await initSqlReview();
  });

  for (const [dialect, sql] of LEAKS) {
    test(`leaves no literal in ${dialect}: ${sql.replace(/\n/g, " ")}`, () => {
      const redacted = redactSql(sql, dialect);
      assert.doesNotMatch(redacted, /s3cr3t|cr3t|4242|1010|0101|0041/i, redacted);
      assert.doesNotMatch(redacted, /^sha256:/, "a readable text is redacted, not hashed");
    });
  }

  test("keeps keywords, identifiers, operators and parameters", () => {
    assert.equal(
      redactSql(
        'SELECT a.id, "Owner" FROM accounts a WHERE a.balance >= 10 AND note::text <> $1',
        "postgres",
      ),
      'SELECT a.id, "Owner" FROM accounts a WHERE a.balance >= ? AND note::text <> $1',
    );
    assert.equal(
      redactSql("SELECT `id` FROM accounts WHERE owner IN ('a', 'b') AND id = ?", "mysql"),
      "SELECT `id` FROM accounts WHERE owner IN (?, ?) AND id = ?",
    );
  });

  test("drops comments without gluing tokens together", () => {
    assert.equal(redactSql("SELECT/* x */1", "postgres"), "SELECT ?");
    assert.equal(redactSql("SELECT 1 # note\nFROM dual", "mysql"), "SELECT ? FROM dual");
  });

  test("keeps the text readable around multibyte characters", () => {
    assert.equal(redactSql("SELECT 'é' AS \"café\"", "postgres"), 'SELECT ? AS "café"');
  });

  test("answers only a SHA-256 when the parser cannot read the text", () => {
    const sql = "SELEC 's3cr3t'";
    assert.equal(redactSql(sql, "postgres"), `sha256:${sha256Hex(sql)}`);
    assert.equal(redactSql(sql, "mysql"), `sha256:${sha256Hex(sql)}`);
  });

  test("answers only a SHA-256 for texts the guards refuse", () => {
    assert.equal(redactSql("SELECT 's3cr3t'\0", "postgres"), sqlFingerprint("SELECT 's3cr3t'\0"));
    assert.equal(redactSql("", "mysql"), sqlFingerprint(""));
  });

  test("answers only a SHA-256 when the text reads differently under another sql_mode", () => {
    const sql = "SELECT 's3\\''; SELECT 'cr3t'; -- '";
    assert.match(redactSql(sql, "mysql"), /^sha256:[0-9a-f]{64}$/);
  });

  test("answers only a SHA-256 for MySQL executable comments, whose contents are code", () => {
    assert.match(redactSql("SELECT 1 /*!50000 , 's3cr3t' */", "mysql"), /^sha256:/);
  });

  test("answers only a SHA-256 when a backslash makes a PostgreSQL string ambiguous", () => {
    assert.match(redactSql("SELECT 's3\\''; SELECT 'cr3t'; --'", "postgres"), /^sha256:/);
  });

  test("redacts a statement that is refused but readable", () => {
    assert.equal(redactSql("GRANT ALL ON accounts TO x", "postgres"), "GRANT ALL ON accounts TO x");
  });
});
