import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { findMaskedColumnUse, type MaskedColumnName } from "./masked-columns.ts";
import { loadSqlParsers } from "./sql-parsers.ts";

const MASKED: MaskedColumnName[] = [
  { table: "users", column: "email" },
  { table: "users", column: "ssn" },
];

before(() => loadSqlParsers(["postgres", "mysql"]));

function usesOf(sql: string, dialect: "postgres" | "mysql"): readonly string[] | string {
  const found = findMaskedColumnUse(sql, dialect, MASKED);
  return found.determinable ? found.uses : `undeterminable: ${found.why}`;
}

for (const dialect of ["postgres", "mysql"] as const) {
  describe(`masked column use (${dialect})`, () => {
    it("finds nothing in a read that only shows masked columns", () => {
      assert.deepEqual(usesOf("SELECT email, u.ssn AS s, id FROM users u", dialect), []);
      assert.deepEqual(usesOf("SELECT * FROM users WHERE id = 1", dialect), []);
    });
    it("finds nothing when the masked table is not read", () => {
      assert.deepEqual(usesOf("SELECT email FROM orders WHERE email LIKE 'a%'", dialect), []);
    });
    for (const [what, sql, column] of [
      ["a filter", "SELECT id FROM users WHERE email LIKE 'a%'", "users.email"],
      ["an order", "SELECT id FROM users ORDER BY ssn", "users.ssn"],
      ["an order by output position", "SELECT email FROM users ORDER BY 1", "users.email"],
      ["an order by output alias", "SELECT email AS e FROM users ORDER BY e", "users.email"],
      ["a group", "SELECT count(*) FROM users GROUP BY email", "users.email"],
      ["a having", "SELECT id FROM users GROUP BY id HAVING max(ssn) > '5'", "users.ssn"],
      ["a join", "SELECT o.id FROM orders o JOIN users u ON u.email = o.note", "users.email"],
      ["a case", "SELECT CASE WHEN email LIKE 'a%' THEN 1 ELSE 0 END FROM users", "users.email"],
      ["an aggregate", "SELECT max(email) FROM users", "users.email"],
      ["a window", "SELECT row_number() OVER (PARTITION BY email) FROM users", "users.email"],
      ["a subquery", "SELECT id FROM orders WHERE id IN (SELECT id FROM users WHERE ssn = '1')", "users.ssn"],
    ] as const) {
      it(`finds ${what}`, () => assert.deepEqual(usesOf(sql, dialect), [column]));
    }
    it("finds a copy of a masked column into another table", () => {
      assert.deepEqual(usesOf("INSERT INTO orders (note) SELECT email FROM users", dialect), ["users.email"]);
      assert.deepEqual(usesOf("UPDATE orders SET note = (SELECT ssn FROM users LIMIT 1)", dialect), [
        "users.ssn",
      ]);
    });
    it("cannot determine a * beyond the output list, or an unparseable text", () => {
      assert.match(
        String(usesOf("SELECT id FROM orders WHERE EXISTS (SELECT * FROM users)", dialect)),
        /undeterminable/,
      );
      assert.match(String(usesOf("SELEKT email FROM users", dialect)), /undeterminable/);
    });
  });
}

describe("masked column use (postgres only)", () => {
  it("cannot determine a whole-row reference", () => {
    assert.match(String(usesOf("SELECT id FROM users u WHERE u::text LIKE '%a@%'", "postgres")), /whole row/);
  });
  it("names the relations a statement reads, without its CTEs", () => {
    const found = findMaskedColumnUse(
      "WITH c AS (SELECT id FROM users) SELECT * FROM c JOIN v ON true",
      "postgres",
      MASKED,
    );
    assert.deepEqual(found.determinable ? [...found.reads].sort() : found, ["users", "v"]);
  });
  it("reads a write's target, so its RETURNING and its filters count", () => {
    const found = findMaskedColumnUse(
      "UPDATE s.users SET note = 'x' WHERE email = 'a' RETURNING id",
      "postgres",
      MASKED,
    );
    assert.deepEqual(found.determinable ? [found.reads, found.relations, found.uses] : found, [
      ["users"],
      [{ schema: "s", name: "users" }],
      ["users.email"],
    ]);
  });
});
