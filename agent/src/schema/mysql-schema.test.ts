/**
 * The MySQL/MariaDB schema collector on a real MariaDB (127.0.0.1:3306, database `test`):
 * foreign keys with their rules, primary keys in key order, indexes, estimates after ANALYZE,
 * sizes; base tables of the connection's database only (no views, no other database); a cut at
 * the limit.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { SchemaTable } from "@dbward/shared";
import mysql from "mysql2/promise";
import { MARIADB_URL, testDatabase } from "../../../test/support/agent/unit-helpers.ts";
import { createMysqlPool } from "../drivers/mysql.ts";
import { collectMysqlSchema } from "./mysql-schema.ts";

const p = `dbward_schema_${process.pid}`;
const other = `dbward_other_${process.pid}`;

describe("MySQL schema collector on real MariaDB", () => {
  let admin: mysql.Connection;
  const pool = createMysqlPool(testDatabase("mysql", MARIADB_URL));
  before(async () => {
    admin = await mysql.createConnection({ uri: MARIADB_URL, multipleStatements: true });
    await admin.query(`
      CREATE DATABASE ${other};
      CREATE TABLE ${other}.elsewhere (id INT PRIMARY KEY);
      CREATE TABLE ${p}_owner (id INT PRIMARY KEY) ENGINE=InnoDB;
      CREATE TABLE ${p}_parent (id INT, region VARCHAR(8), name TEXT, PRIMARY KEY (region, id)) ENGINE=InnoDB;
      CREATE TABLE ${p}_child (
        id INT PRIMARY KEY,
        region VARCHAR(8) NOT NULL,
        parent_id INT NOT NULL,
        owner_id INT NULL,
        note VARCHAR(40),
        UNIQUE KEY child_note_key (note),
        CONSTRAINT ${p}_parent_fk FOREIGN KEY (region, parent_id)
          REFERENCES ${p}_parent (region, id) ON DELETE CASCADE,
        CONSTRAINT ${p}_owner_fk FOREIGN KEY (owner_id)
          REFERENCES ${p}_owner (id) ON DELETE SET NULL ON UPDATE RESTRICT
      ) ENGINE=InnoDB;
      CREATE VIEW ${p}_view AS SELECT id FROM ${p}_owner;
      INSERT INTO ${p}_owner VALUES (1), (2), (3);
      INSERT INTO ${p}_parent SELECT seq, 'eu', CONCAT('p', seq) FROM seq_1_to_40;
      INSERT INTO ${p}_child SELECT seq, 'eu', 1 + seq % 40, 1 + seq % 3, CONCAT('n', seq) FROM seq_1_to_700;
      ANALYZE TABLE ${p}_owner, ${p}_parent, ${p}_child;
    `);
  });
  after(async () => {
    await pool.end();
    await admin.query(
      `DROP VIEW ${p}_view; DROP TABLE ${p}_child, ${p}_parent, ${p}_owner; DROP DATABASE ${other}`,
    );
    await admin.end();
  });

  const table = (tables: SchemaTable[], name: string): SchemaTable =>
    tables.find((t) => t.schema === "test" && t.name === `${p}_${name}`) ?? assert.fail(`no table ${name}`);

  test("reads foreign keys with their rules, primary keys in key order and indexes", async () => {
    const { tables } = await collectMysqlSchema(pool);
    const child = table(tables, "child");
    assert.deepEqual(
      [...child.foreign_keys].sort((a, b) => a.name.localeCompare(b.name)),
      [
        {
          name: `${p}_owner_fk`,
          columns: ["owner_id"],
          references: { schema: "test", table: `${p}_owner`, columns: ["id"] },
          on_delete: "set_null",
          on_update: "restrict",
        },
        {
          name: `${p}_parent_fk`,
          columns: ["region", "parent_id"],
          references: { schema: "test", table: `${p}_parent`, columns: ["region", "id"] },
          on_delete: "cascade",
          // MariaDB reports a missing ON UPDATE clause as RESTRICT (what InnoDB does).
          on_update: "restrict",
        },
      ],
    );
    assert.deepEqual(
      table(tables, "parent").primary_key,
      ["region", "id"],
      "the key's order, not the table's",
    );
    assert.deepEqual(child.primary_key, ["id"]);
    const indexes = new Map(child.indexes.map((i) => [i.name, i]));
    assert.deepEqual(indexes.get("child_note_key"), {
      name: "child_note_key",
      columns: ["note"],
      unique: true,
    });
    assert.deepEqual(indexes.get("PRIMARY"), { name: "PRIMARY", columns: ["id"], unique: true });
    assert.equal(indexes.get(`${p}_owner_fk`)?.unique, false, "the FK's own index");
    assert.deepEqual(child.columns[1], { name: "region", type: "varchar(8)", nullable: false });
    assert.deepEqual(child.columns[3], { name: "owner_id", type: "int(11)", nullable: true });
  });

  test("estimates rows from ANALYZE, sizes tables and puts the largest first", async () => {
    const { tables, truncated } = await collectMysqlSchema(pool);
    assert.equal(truncated, false);
    assert.equal(table(tables, "child").estimated_rows, 700);
    assert.equal(table(tables, "owner").estimated_rows, 3);
    for (const t of tables) assert.ok((t.size_bytes ?? 0) > 0, `${t.name} has a size`);
    const sizes = tables.map((t) => t.size_bytes ?? 0);
    assert.deepEqual(
      sizes,
      [...sizes].sort((a, b) => b - a),
    );
  });

  test("lists base tables of the connection's database only", async () => {
    const { tables } = await collectMysqlSchema(pool);
    assert.ok(tables.every((t) => t.schema === "test"));
    assert.ok(!tables.some((t) => t.name === `${p}_view`), "a view is not a table");
    assert.ok(!tables.some((t) => t.name === "elsewhere"), "another database on the server");
  });

  test("stops at the limit, largest first, and says it was cut", async () => {
    const all = await collectMysqlSchema(pool);
    const { tables, truncated } = await collectMysqlSchema(pool, { maxTables: 2 });
    assert.equal(truncated, true);
    assert.deepEqual(
      tables.map((t) => t.name),
      all.tables.slice(0, 2).map((t) => t.name),
    );
  });
});
