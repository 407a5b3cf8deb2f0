import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { lexSql, MYSQL_LEX, SQLITE_LEX, type LexProfile } from "./sql-lexer.ts";

function kinds(sql: string, profile: LexProfile = MYSQL_LEX): string[] {
  const result = lexSql(sql, profile);
  assert.ok(result.ok, sql);
  return result.tokens.map((t) => `${t.kind}:${sql.slice(t.start, t.end)}`);
}

describe("MySQL and SQLite lexer", () => {
  test("reads `-- ` with a space as a comment and `--1` as two minus signs in MySQL", () => {
    assert.deepEqual(kinds("1 -- x"), ["number:1", "comment:-- x"]);
    assert.deepEqual(kinds("1--1"), ["number:1", "operator:-", "operator:-", "number:1"]);
  });

  test("reads `--1` as a comment in SQLite", () => {
    assert.deepEqual(kinds("1--1", SQLITE_LEX), ["number:1", "comment:--1"]);
  });

  test("reads # as a comment in MySQL only", () => {
    assert.deepEqual(kinds("1 # x"), ["number:1", "comment:# x"]);
    assert.deepEqual(kinds("1 # x", SQLITE_LEX), ["number:1", "operator:#", "word:x"]);
  });

  test("tells executable comments from comments and optimizer hints", () => {
    assert.deepEqual(kinds("/*!1*/ /*M!2*/ /*+3*/ /*4*/"), [
      "executable_comment:/*!1*/",
      "executable_comment:/*M!2*/",
      "comment:/*+3*/",
      "comment:/*4*/",
    ]);
  });

  test("reads backslash escapes and doubled quotes inside strings", () => {
    assert.deepEqual(kinds("'a\\'b' 'c''d' \"e\\\"f\""), [
      "string:'a\\'b'",
      "string:'c''d'",
      'string:"e\\"f"',
    ]);
  });

  test("reads a backslash as an ordinary character in SQLite", () => {
    assert.deepEqual(kinds("'a\\' x", SQLITE_LEX), ["string:'a\\'", "word:x"]);
  });

  test("reads prefixed literals as one literal", () => {
    assert.deepEqual(kinds("X'ff' b'01' N'x' _utf8mb4'y' 0x1F 1e-5 .5"), [
      "string:X'ff'",
      "string:b'01'",
      "string:N'x'",
      "string:_utf8mb4'y'",
      "number:0x1F",
      "number:1e-5",
      "number:.5",
    ]);
  });

  test("reads backquoted and bracketed identifiers", () => {
    assert.deepEqual(kinds("`a``b`"), ["quoted_identifier:`a``b`"]);
    assert.deepEqual(kinds("[a b]", SQLITE_LEX), ["quoted_identifier:[a b]"]);
  });

  test("refuses unterminated strings, identifiers and comments", () => {
    for (const sql of ["'abc", '"abc', "`abc", "/* abc"]) {
      const result = lexSql(sql, MYSQL_LEX);
      assert.equal(result.ok, false, sql);
    }
  });
});
