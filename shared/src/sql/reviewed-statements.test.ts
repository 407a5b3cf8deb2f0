import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { SQL_CORPUS } from "../../../test/sql-corpus/corpus.ts";
import { PgOffsets } from "./postgres-text.ts";
import { initSqlReview, reviewSql } from "./review-sql.ts";
import type { ReviewedStatement, SqlDialect, SqlReview, SqlReviewOptions } from "./review.ts";

/** The statements as `kind:text`, after checking that every offset slices back to its text. */
function statementsOf(sql: string, dialect: SqlDialect, options: SqlReviewOptions = {}): string[] {
  const review = reviewSql(sql, dialect, options);
  assertSlicesBack(sql, review);
  return review.statements.map((s) => `${s.kind}:${s.text}`);
}

function assertSlicesBack(sql: string, review: SqlReview): void {
  let previousEnd = 0;
  for (const s of review.statements) {
    assert.equal(sql.slice(s.start, s.end), s.text, `${JSON.stringify(s)} in ${JSON.stringify(sql)}`);
    assert.ok(s.start >= previousEnd, `out of order in ${JSON.stringify(sql)}`);
    assert.ok(s.text.length > 0);
    assert.equal(s.text, s.text.replace(/^[ \t\n\r\f\v]+|[ \t\n\r\f\v]+$/g, ""), "untrimmed");
    previousEnd = s.end;
  }
}

const ALLOW: SqlReviewOptions = { multipleStatements: "allow" };

describe("reviewed statements", () => {
  before(async () => {
    await initSqlReview();
  });

  describe("a SET prelude and a statement", () => {
    test("gives a session and a main statement with exact texts and offsets (PostgreSQL)", () => {
      const sql = "SET statement_timeout = '5s'; SELECT * FROM accounts WHERE id = 1;";
      const review = reviewSql(sql, "postgres");
      assert.equal(review.class, "read");
      assert.deepEqual(review.statements, [
        { text: "SET statement_timeout = '5s'", start: 0, end: 28, kind: "session" },
        { text: "SELECT * FROM accounts WHERE id = 1", start: 30, end: 65, kind: "main" },
      ]);
    });

    test("gives a session and a main statement with exact texts and offsets (MySQL)", () => {
      const sql = "SET SESSION max_execution_time = 5000;\nUPDATE accounts SET balance = 1 WHERE id = 1";
      const review = reviewSql(sql, "mysql");
      assert.equal(review.class, "write");
      assert.deepEqual(review.statements, [
        { text: "SET SESSION max_execution_time = 5000", start: 0, end: 37, kind: "session" },
        { text: "UPDATE accounts SET balance = 1 WHERE id = 1", start: 39, end: 83, kind: "main" },
      ]);
    });

    test("reports several settings in order, before the statement", () => {
      assert.deepEqual(
        statementsOf("SET LOCAL lock_timeout = '1s'; SET work_mem = '64MB'; SELECT 1", "postgres"),
        ["session:SET LOCAL lock_timeout = '1s'", "session:SET work_mem = '64MB'", "main:SELECT 1"],
      );
      assert.deepEqual(
        statementsOf("SET lock_wait_timeout = 5; SET @@session.sort_buffer_size = 262144; SELECT 1", "mysql"),
        [
          "session:SET lock_wait_timeout = 5",
          "session:SET @@session.sort_buffer_size = 262144",
          "main:SELECT 1",
        ],
      );
    });
  });

  describe("one statement", () => {
    const cases: readonly (readonly [SqlDialect, string, string])[] = [
      ["postgres", "SELECT 1", "SELECT 1"],
      ["postgres", "\n  DELETE FROM accounts WHERE id = 1 ;\n\n", "DELETE FROM accounts WHERE id = 1"],
      ["postgres", "SELECT 1;;", "SELECT 1"],
      ["mysql", "\tSELECT 1;\n", "SELECT 1"],
      ["mysql", "UPDATE accounts SET note = 'x' WHERE id = 1", "UPDATE accounts SET note = 'x' WHERE id = 1"],
      ["sqlite", " SELECT 1 ; ", "SELECT 1"],
    ];
    for (const [dialect, sql, text] of cases) {
      test(`is the trimmed text without its semicolon: ${JSON.stringify(sql)} (${dialect})`, () => {
        assert.deepEqual(statementsOf(sql, dialect), [`main:${text}`]);
      });
    }
  });

  describe("statement boundaries", () => {
    test("strings, dollar quotes and comments holding semicolons do not split (PostgreSQL)", () => {
      const main =
        "SELECT 'a;b' AS s, E'c\\';d' AS e, $$e;f$$ AS d, $t$g;$t$ AS t, \"h;i\" /* j; */ -- k;\nFROM accounts";
      assert.deepEqual(statementsOf(`SET statement_timeout = '5s'; ${main};`, "postgres"), [
        "session:SET statement_timeout = '5s'",
        `main:${main}`,
      ]);
    });

    test("a dollar-quoted body with semicolons stays one statement (PostgreSQL)", () => {
      const body = "DO $body$ BEGIN PERFORM 1; PERFORM 2; END $body$";
      assert.deepEqual(statementsOf(`${body}; SELECT 1`, "postgres", ALLOW), [
        `main:${body}`,
        "main:SELECT 1",
      ]);
    });

    test("strings, quoted names and comments holding semicolons do not split (MySQL)", () => {
      const main = "SELECT 'a;b', \"c;d\", `e;f`, 'g\\';h' /* i; */ # j;\n-- k;\nFROM accounts";
      assert.deepEqual(statementsOf(`SET max_execution_time = 5000; ${main};`, "mysql"), [
        "session:SET max_execution_time = 5000",
        `main:${main}`,
      ]);
    });

    test("strings, bracketed names and comments holding semicolons do not split (SQLite)", () => {
      const main = "SELECT 'a;b', [c;d], \"e;f\" /* g; */ -- h;\nFROM accounts";
      assert.deepEqual(statementsOf(`${main};`, "sqlite"), [`main:${main}`]);
    });

    for (const dialect of ["postgres", "mysql"] as const) {
      test(`leaves out comments between statements and keeps those inside them (${dialect})`, () => {
        const setting = dialect === "postgres" ? "SET statement_timeout = '5s'" : "SET lock_wait_timeout = 5";
        const sql = `/* ticket 1; */ ${setting} /* before ; */ ;\n-- next;\n/* x */ SELECT /* in; */ 1 -- end`;
        assert.deepEqual(statementsOf(sql, dialect), [
          `session:${setting} /* before ; */`,
          "main:SELECT /* in; */ 1 -- end",
        ]);
      });
    }

    test("reports UTF-16 offsets in texts with multi-byte characters (PostgreSQL)", () => {
      const sql = "SET application_name = 'café 🚀';\n-- ünïcode 🚀\nSELECT 'ü;🚀' AS \"naïve\"";
      const review = reviewSql(sql, "postgres");
      assertSlicesBack(sql, review);
      assert.deepEqual(
        review.statements.map((s) => [s.kind, s.start, s.text]),
        [
          ["session", 0, "SET application_name = 'café 🚀'"],
          ["main", sql.indexOf("SELECT"), "SELECT 'ü;🚀' AS \"naïve\""],
        ],
      );
    });

    test("reports UTF-16 offsets in texts with multi-byte characters (MySQL)", () => {
      const sql = "SET time_zone = '+00:00'; /* 🚀 */ SELECT 'ü;🚀'";
      assert.deepEqual(statementsOf(sql, "mysql"), [
        "session:SET time_zone = '+00:00'",
        "main:SELECT 'ü;🚀'",
      ]);
    });

    test("trims SQL whitespace only, not characters that belong to a name", () => {
      // PostgreSQL reads a no-break space as part of the identifier; trimming it would rename the alias.
      assert.deepEqual(statementsOf("SELECT 1 AS x\u00a0", "postgres"), ["main:SELECT 1 AS x\u00a0"]);
    });
  });

  describe("several statements", () => {
    test("with multipleStatements allow, reports every statement in order", () => {
      const sql =
        "CREATE TABLE accounts_archive (id int);\nINSERT INTO accounts_archive SELECT id FROM accounts;";
      for (const dialect of ["postgres", "mysql"] as const) {
        assert.deepEqual(statementsOf(sql, dialect, ALLOW), [
          "main:CREATE TABLE accounts_archive (id int)",
          "main:INSERT INTO accounts_archive SELECT id FROM accounts",
        ]);
      }
    });

    test("with multipleStatements allow, a setting after a statement is still a session statement", () => {
      assert.deepEqual(statementsOf("SELECT 1; SET work_mem = '64MB'; SELECT 2", "postgres", ALLOW), [
        "main:SELECT 1",
        "session:SET work_mem = '64MB'",
        "main:SELECT 2",
      ]);
    });
  });

  describe("texts that are not run as reviewed statements", () => {
    const rejected: readonly (readonly [SqlDialect, string, SqlReviewOptions])[] = [
      ["postgres", "SELECT 1; SELECT 2", {}],
      ["mysql", "SELECT 1; DELETE FROM accounts WHERE id = 1", {}],
      ["postgres", "SELECT 1; SET statement_timeout = '5s'", {}],
      ["postgres", "SET statement_timeout = '5s'", {}],
      ["postgres", "SET search_path = evil; SELECT 1", {}],
      ["mysql", "SELECT 1; GRANT ALL ON accounts TO x", ALLOW],
      ["postgres", "BEGIN; UPDATE accounts SET balance = 1 WHERE id = 1; COMMIT", ALLOW],
      ["postgres", "   ", {}],
      ["postgres", "-- only a comment", {}],
      ["mysql", "/*!50000 DROP TABLE accounts */ SELECT 1", {}],
      ["postgres", "SELECT 'a\\'; DELETE FROM accounts; --'", {}],
    ];
    for (const [dialect, sql, options] of rejected) {
      test(`a rejected text has none: ${JSON.stringify(sql)} (${dialect})`, () => {
        const review = reviewSql(sql, dialect, options);
        assert.equal(review.class, "rejected");
        assert.deepEqual(review.statements, []);
      });
    }

    test("a PostgreSQL text the parser cannot read is one main statement when the scanner sees one", () => {
      const review = reviewSql("  SELEC 1 FROM accounts -- typo\n;", "postgres");
      assert.equal(review.class, "write");
      assert.equal(review.risk, "unavailable");
      assert.deepEqual(review.statements, [
        { text: "SELEC 1 FROM accounts -- typo", start: 2, end: 31, kind: "main" },
      ]);
    });

    test("a PostgreSQL text the parser cannot read has none when the scanner sees several statements", () => {
      for (const options of [{}, ALLOW]) {
        const review = reviewSql("SELECT 1; SELEC 2", "postgres", options);
        assert.equal(review.class, "write");
        assert.deepEqual(review.statements, []);
      }
    });

    test("a text no lexer can read has none", () => {
      for (const dialect of ["postgres", "mysql", "sqlite"] as const) {
        const review = reviewSql("SELECT 'unterminated", dialect);
        assert.notEqual(review.class, "read");
        assert.deepEqual(review.statements, [], dialect);
      }
    });

    test("a MySQL statement the parser cannot read keeps the lexer's boundaries", () => {
      const sql = "SET max_execution_time = 5000; SELECT * FROM accounts FOR SHARE";
      const review = reviewSql(sql, "mysql");
      assert.equal(review.class, "write");
      assert.equal(review.risk, "unavailable");
      assert.deepEqual(
        review.statements.map((s) => `${s.kind}:${s.text}`),
        ["session:SET max_execution_time = 5000", "main:SELECT * FROM accounts FOR SHARE"],
      );
    });
  });

  test("gives every corpus case statements that slice back, in the shape the agent runs", () => {
    const problems: string[] = [];
    for (const c of SQL_CORPUS) {
      const review = reviewSql(c.sql, c.dialect);
      assertSlicesBack(c.sql, review);
      const shape = review.statements.map((s: ReviewedStatement) => s.kind).join(",");
      if (review.class === "rejected") {
        if (review.statements.length > 0) problems.push(`rejected with statements: ${c.sql}`);
        continue;
      }
      // Zero or more settings, then exactly one main statement.
      if (!/^(session,)*main$/.test(shape)) {
        problems.push(`${shape || "none"}: ${c.sql}`);
        continue;
      }
      // The main statement alone reviews as the whole text does.
      const main = review.statements[review.statements.length - 1]?.text ?? "";
      const alone = reviewSql(main, c.dialect);
      if (alone.class !== review.class || alone.risk !== review.risk) {
        problems.push(`alone ${alone.class}/${alone.risk}, whole ${review.class}/${review.risk}: ${c.sql}`);
      }
    }
    assert.deepEqual(problems, []);
  });
});

describe("PgOffsets", () => {
  test("converts every character boundary's byte offset as decoding the prefix does", () => {
    const sql = "a é € 🚀 z\u00a0'ü'\n🚀🚀x";
    const bytes = Buffer.from(sql, "utf8");
    const offsets = new PgOffsets(sql);
    for (let char = 0; char <= sql.length; char += 1) {
      if (char < sql.length && /[\uDC00-\uDFFF]/.test(sql[char] ?? "")) continue;
      const byte = Buffer.byteLength(sql.slice(0, char), "utf8");
      assert.equal(offsets.toChar(byte), char, `byte ${byte}`);
      assert.equal(bytes.subarray(0, byte).toString("utf8").length, char);
    }
    assert.equal(offsets.toChar(-5), 0);
    assert.equal(offsets.toChar(bytes.length + 10), sql.length);
  });

  test("returns byte offsets unchanged for ASCII text", () => {
    assert.equal(new PgOffsets("SELECT 1").toChar(7), 7);
  });
});
