/**
 * The MySQL/MariaDB allowlist against a real MariaDB 10.11 (127.0.0.1:3306, root, database
 * `test`): every listed MariaDB function is a native function there, and nothing listed is in a
 * never-a-read category (T-SQL-SMUGGLING).
 *
 * "Native" is asked of the server's parser without running anything: `PREPARE` resolves a name
 * and stops. A name that is no native function resolves to a stored function of the default
 * database and fails with ER_SP_DOES_NOT_EXIST (1305); a native one prepares, or fails for
 * another reason such as ER_WRONG_PARAMCOUNT_TO_NATIVE_FCT (1582). The help tables are not
 * enough on their own: MariaDB 10.11 ships topics for functions of later versions.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import mysql from "mysql2/promise";
import { isNative } from "../scripts/sql-allowlist/mysql.ts";
import { MARIADB_FUNCTIONS } from "../shared/src/sql/mysql-allowlist-data.ts";
import { MYSQL_ONLY, SYNTAX_PROBES } from "../shared/src/sql/mysql-allowlist-notes.ts";
import { neverAReadCategory } from "../shared/src/sql/never-a-read.ts";

const CONNECTION = { host: "127.0.0.1", port: 3306, user: "root", password: "", database: "test" };

describe("MySQL allowlist on real MariaDB", () => {
  let conn: mysql.Connection;
  before(async () => {
    conn = await mysql.createConnection(CONNECTION);
  });
  after(() => conn.end());

  test("the probe tells a native function from a stored-function name", async () => {
    assert.equal(await isNative(conn, "concat"), true);
    assert.equal(await isNative(conn, "sleep"), true);
    assert.equal(await isNative(conn, "dbward_no_such_function"), false);
    assert.equal(await isNative(conn, "cast"), true, "through its own spelling in SYNTAX_PROBES");
    assert.ok(Object.keys(SYNTAX_PROBES).length > 0);
  });

  test("every listed MariaDB function is native on this server", async () => {
    const missing: string[] = [];
    for (const name of MARIADB_FUNCTIONS) if (!(await isNative(conn, name))) missing.push(name);
    assert.deepEqual(missing, []);
    assert.ok(MARIADB_FUNCTIONS.length > 300, `only ${MARIADB_FUNCTIONS.length} functions`);
  });

  test("MySQL-only names are not MariaDB built-ins, or are listed for MariaDB too", async () => {
    const alsoHere: string[] = [];
    for (const name of Object.keys(MYSQL_ONLY)) if (await isNative(conn, name)) alsoHere.push(name);
    const listed = new Set(MARIADB_FUNCTIONS);
    assert.deepEqual(
      alsoHere.filter((name) => !listed.has(name)),
      [],
      "a MySQL-only name MariaDB knows belongs in the generated list",
    );
    console.log(
      `${Object.keys(MYSQL_ONLY).length - alsoHere.length} MySQL-only names cannot be checked on MariaDB`,
    );
  });

  test("nothing on the list is in a never-a-read category", () => {
    const listed = [...MARIADB_FUNCTIONS, ...Object.keys(MYSQL_ONLY)];
    assert.deepEqual(
      listed.filter((name) => neverAReadCategory("mysql", name) !== undefined),
      [],
    );
  });
});
