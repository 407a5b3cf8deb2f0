/**
 * The MySQL driver's catalogue check on a real MariaDB (127.0.0.1:3306, database `test`): a read
 * whose called names resolve to a stored function the agent does not trust is refused before the
 * statement runs; trusted functions and built-ins pass (T-SQL-SMUGGLING).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import mysql from "mysql2/promise";
import type { CatalogReferences } from "@dbward/shared";
import { MARIADB_URL, testDatabase } from "../../../test/support/agent/unit-helpers.ts";
import type { Driver } from "./driver.ts";
import { createDriver } from "./registry.ts";

const fn = `dbward_cat_${randomBytes(4).toString("hex")}`;

function references(functions: string[]): CatalogReferences {
  return { functions, operators: [], types: [], fields: [] };
}

describe("MySQL driver catalogue check on real MariaDB", () => {
  let admin: mysql.Connection;
  let driver: Driver;
  before(async () => {
    admin = await mysql.createConnection(MARIADB_URL);
    await admin.query(`CREATE FUNCTION ${fn}() RETURNS INT DETERMINISTIC RETURN 7`);
    driver = createDriver(testDatabase("mysql", MARIADB_URL), () => undefined);
  });
  after(async () => {
    await driver.close();
    await admin.query(`DROP FUNCTION IF EXISTS ${fn}`);
    await admin.end();
  });

  const read = (sql: string, functions: string[], trustedFunctions: string[] = []) =>
    driver.execute(sql, {
      operation: "read",
      rowCap: 10,
      statementTimeoutMs: 5000,
      catalogCheck: { references: references(functions), trustedFunctions },
    });

  test("refuses a read whose unqualified call resolves to a stored function", async () => {
    await assert.rejects(read(`SELECT ${fn}()`, [fn]), (err: Error & { code?: string }) => {
      assert.equal(err.code, "sql.unverified");
      assert.match(err.message, new RegExp(`test\\.${fn}`));
      return true;
    });
  });

  test("refuses a schema-qualified stored function that is not trusted", async () => {
    await assert.rejects(read(`SELECT test.${fn}()`, [`test.${fn}`]), { code: "sql.unverified" });
  });

  test("runs a stored function trusted for this database", async () => {
    const qualified = await read(`SELECT test.${fn}()`, [`test.${fn}`], [`test.${fn}`]);
    assert.deepEqual(qualified.rows, [[7]]);
    const plain = await read(`SELECT ${fn}()`, [fn], [`test.${fn}`]);
    assert.deepEqual(plain.rows, [[7]]);
  });

  test("runs an ordinary read of built-ins", async () => {
    const result = await read("SELECT LOWER('A'), CONCAT('a', 'b'), COUNT(*) FROM mysql.help_topic", [
      "lower",
      "concat",
      "count",
    ]);
    assert.equal(result.rows[0]?.[0], "a");
  });

  test("the connection stays usable after a refusal", async () => {
    await assert.rejects(read(`SELECT ${fn}()`, [fn]), { code: "sql.unverified" });
    const result = await read("SELECT 1", []);
    assert.deepEqual(result.rows, [[1]]);
  });
});
