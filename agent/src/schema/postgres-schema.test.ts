/**
 * The PostgreSQL schema collector on the real server (127.0.0.1:5432, database `test`): foreign
 * keys with their actions, primary keys in key order, indexes, estimates after ANALYZE, sizes;
 * only tables the agent's user may use, no system or temporary ones; a cut at the limit.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { SchemaTable } from "@dbward/shared";
import pg from "pg";
import { PG_URL, testDatabase } from "../../../test/support/agent/unit-helpers.ts";
import { createPostgresPool } from "../drivers/postgres.ts";
import { collectPostgresSchema } from "./postgres-schema.ts";

const schema = `dbward_schema_${process.pid}`;
const hidden = `dbward_hidden_${process.pid}`;
const role = `dbward_reader_${process.pid}`;
const temp = `dbward_temp_${process.pid}`;

describe("PostgreSQL schema collector on the real server", () => {
  const admin = new pg.Client({ connectionString: PG_URL });
  // The agent's user: may use `schema`, not `hidden`.
  const pool = createPostgresPool(testDatabase("postgres", `postgres://${role}@127.0.0.1:5432/test`));
  const superPool = createPostgresPool(testDatabase("postgres", PG_URL));
  pool.on("error", () => undefined);
  superPool.on("error", () => undefined);

  before(async () => {
    await admin.connect();
    await admin.query(`
      CREATE ROLE ${role} LOGIN;
      CREATE SCHEMA ${schema};
      CREATE SCHEMA ${hidden};
      CREATE TABLE ${schema}.owner (id int PRIMARY KEY);
      CREATE TABLE ${schema}.parent (id int, region text, name text, PRIMARY KEY (region, id));
      CREATE TABLE ${schema}.child (
        id int PRIMARY KEY,
        region text NOT NULL,
        parent_id int NOT NULL,
        owner_id int,
        note varchar(40),
        CONSTRAINT child_parent_fk FOREIGN KEY (region, parent_id)
          REFERENCES ${schema}.parent (region, id) ON DELETE CASCADE,
        CONSTRAINT child_owner_fk FOREIGN KEY (owner_id)
          REFERENCES ${schema}.owner (id) ON DELETE SET NULL ON UPDATE RESTRICT
      );
      CREATE UNIQUE INDEX child_note_key ON ${schema}.child (note);
      CREATE INDEX child_lower_note ON ${schema}.child (lower(note));
      CREATE TABLE ${hidden}.secret (id int);
      INSERT INTO ${schema}.owner SELECT g FROM generate_series(1, 5) g;
      INSERT INTO ${schema}.parent SELECT g, 'eu', 'p' || g FROM generate_series(1, 40) g;
      INSERT INTO ${schema}.child SELECT g, 'eu', 1 + g % 40, 1 + g % 5, 'n' || g FROM generate_series(1, 700) g;
      ANALYZE ${schema}.owner, ${schema}.parent, ${schema}.child;
      GRANT USAGE ON SCHEMA ${schema} TO ${role};
      GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ${role};
      GRANT SELECT ON ${hidden}.secret TO ${role};
      CREATE TEMP TABLE ${temp} (id int);
    `);
  });
  after(async () => {
    await pool.end();
    await superPool.end();
    await admin.query(`DROP SCHEMA ${schema} CASCADE; DROP SCHEMA ${hidden} CASCADE; DROP ROLE ${role}`);
    await admin.end();
  });

  const table = (tables: SchemaTable[], name: string): SchemaTable =>
    tables.find((t) => t.schema === schema && t.name === name) ?? assert.fail(`no table ${name}`);

  test("reads foreign keys with their actions, primary keys in key order and indexes", async () => {
    const { tables } = await collectPostgresSchema(pool);
    const child = table(tables, "child");
    assert.deepEqual(child.foreign_keys, [
      {
        name: "child_owner_fk",
        columns: ["owner_id"],
        references: { schema, table: "owner", columns: ["id"] },
        on_delete: "set_null",
        on_update: "restrict",
      },
      {
        name: "child_parent_fk",
        columns: ["region", "parent_id"],
        references: { schema, table: "parent", columns: ["region", "id"] },
        on_delete: "cascade",
        on_update: "no_action",
      },
    ]);
    assert.deepEqual(
      table(tables, "parent").primary_key,
      ["region", "id"],
      "the key's order, not the table's",
    );
    assert.deepEqual(child.primary_key, ["id"]);
    assert.deepEqual(
      child.indexes.map((i) => [i.name, i.columns, i.unique]),
      [
        ["child_lower_note", ["lower(note::text)"], false],
        ["child_note_key", ["note"], true],
        ["child_pkey", ["id"], true],
      ],
    );
    assert.deepEqual(child.columns.slice(3), [
      { name: "owner_id", type: "integer", nullable: true },
      { name: "note", type: "character varying(40)", nullable: true },
    ]);
    assert.deepEqual(child.columns[1], { name: "region", type: "text", nullable: false });
  });

  test("estimates rows from ANALYZE, sizes tables and puts the largest first", async () => {
    const { tables, truncated } = await collectPostgresSchema(pool);
    assert.equal(truncated, false);
    assert.equal(table(tables, "child").estimated_rows, 700);
    assert.equal(table(tables, "parent").estimated_rows, 40);
    for (const t of tables) assert.ok((t.size_bytes ?? 0) > 0, `${t.name} has a size`);
    const sizes = tables.map((t) => t.size_bytes ?? 0);
    assert.deepEqual(
      sizes,
      [...sizes].sort((a, b) => b - a),
    );
    assert.equal(tables[0]?.name, "child");
  });

  test("lists only tables the agent's user may use, and no system or temporary ones", async () => {
    const mine = await collectPostgresSchema(pool);
    assert.ok(!mine.tables.some((t) => t.schema === hidden), "no USAGE on the schema: not listed");
    const everything = await collectPostgresSchema(superPool);
    assert.ok(
      everything.tables.some((t) => t.schema === hidden),
      "a superuser may use it",
    );
    for (const t of everything.tables) {
      assert.ok(!["pg_catalog", "information_schema"].includes(t.schema), `${t.schema}.${t.name}`);
      assert.doesNotMatch(t.schema, /^pg_(toast|temp)/);
      assert.notEqual(t.name, temp);
    }
  });

  test("stops at the limit, largest first, and says it was cut", async () => {
    const { tables, truncated } = await collectPostgresSchema(pool, { maxTables: 2 });
    assert.equal(truncated, true);
    assert.deepEqual(
      tables.map((t) => t.name),
      ["child", "parent"],
    );
  });
});
