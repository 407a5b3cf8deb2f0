/**
 * schema.sql is the one definition of the state; PostgreSQL gets a form derived from it
 * (postgres-schema.ts). These tests open both on the real servers and compare what they hold:
 * tables, columns in order, types, nullability, defaults' presence, primary keys, unique keys,
 * indexes and the values CHECK constraints allow — so a rewrite that loses something shows here.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import SqliteDatabase from "better-sqlite3";
import pg from "pg";
import { STORE_FILE, openStore, type Store } from "./open-store.ts";
import { openPostgresStore } from "./open-postgres-store.ts";
import { postgresSchema } from "./postgres-schema.ts";
import { dropStateDatabase, ensureStateDatabase } from "../../../test/support/postgres-state.ts";

interface Shape {
  readonly columns: readonly {
    name: string;
    type: "integer" | "text" | "blob";
    notNull: boolean;
    hasDefault: boolean;
  }[];
  readonly primaryKey: readonly string[];
  readonly uniques: readonly string[];
  readonly indexes: readonly string[];
}

function sqliteShapes(db: SqliteDatabase.Database): Map<string, Shape> {
  const tables = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .all() as { name: string }[];
  const shapes = new Map<string, Shape>();
  for (const { name } of tables) {
    const cols = db.prepare("SELECT * FROM pragma_table_info(?) ORDER BY cid").all(name) as {
      name: string;
      type: string;
      notnull: number;
      dflt_value: string | null;
      pk: number;
    }[];
    const pk = cols.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
    const indexList = db.prepare("SELECT * FROM pragma_index_list(?)").all(name) as {
      name: string;
      unique: number;
      origin: string;
    }[];
    const colsOf = (index: string): string =>
      (db.prepare("SELECT name FROM pragma_index_info(?) ORDER BY seqno").all(index) as { name: string }[])
        .map((c) => c.name)
        .join(",");
    // A rowid the store assigns is declared AUTOINCREMENT; a bare INTEGER PRIMARY KEY is one the
    // code always supplies (a chain's seq, a one-row table's id), which PostgreSQL need not fill.
    const createSql = (
      db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) as {
        sql: string;
      }
    ).sql;
    const rowid = /\bAUTOINCREMENT\b/.test(createSql);
    shapes.set(name, {
      columns: cols.map((c) => ({
        name: c.name,
        type: c.type === "INTEGER" ? "integer" : c.type === "BLOB" ? "blob" : "text",
        notNull: c.notnull === 1 || c.pk > 0,
        hasDefault: c.dflt_value !== null || (rowid && c.pk === 1),
      })),
      primaryKey: pk.map((c) => c.name),
      uniques: indexList
        .filter((i) => i.origin === "u")
        .map((i) => colsOf(i.name))
        .sort(),
      indexes: indexList
        .filter((i) => i.origin === "c")
        .map((i) => i.name)
        .sort(),
    });
  }
  return shapes;
}

/** The PostgreSQL types the rewrites produce, as the SQLite types they stand for. */
const POSTGRES_TYPES: Readonly<Record<string, Shape["columns"][number]["type"]>> = {
  bigint: "integer",
  text: "text",
  bytea: "blob",
};

async function postgresShapes(c: pg.Client): Promise<Map<string, Shape>> {
  const tables = await c.query<{ name: string }>(
    "select table_name as name from information_schema.tables where table_schema = 'public' order by table_name",
  );
  const shapes = new Map<string, Shape>();
  for (const { name } of tables.rows) {
    const cols = await c.query<{
      name: string;
      type: string;
      nullable: string;
      dflt: string | null;
      identity: string;
    }>(
      `select column_name as name, data_type as type, is_nullable as nullable, column_default as dflt,
              is_identity as identity
         from information_schema.columns where table_schema = 'public' and table_name = $1
        order by ordinal_position`,
      [name],
    );
    const constraintCols = async (kind: "p" | "u"): Promise<string[]> =>
      (
        await c.query<{ cols: string }>(
          `select string_agg(a.attname, ',' order by k.ord) as cols
             from pg_constraint con
             cross join lateral unnest(con.conkey) with ordinality as k(attnum, ord)
             join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum
            where con.conrelid = $1::regclass and con.contype = $2
            group by con.oid`,
          [name, kind],
        )
      ).rows
        .map((r) => r.cols)
        .sort();
    const indexes = await c.query<{ name: string }>(
      `select i.relname as name from pg_index x join pg_class i on i.oid = x.indexrelid
        where x.indrelid = $1::regclass
          and not exists (select 1 from pg_constraint con where con.conindid = x.indexrelid)
        order by i.relname`,
      [name],
    );
    shapes.set(name, {
      columns: cols.rows.map((col) => {
        const type = POSTGRES_TYPES[col.type];
        assert.ok(type !== undefined, `${name}.${col.name} is ${col.type}`);
        return {
          name: col.name,
          type,
          notNull: col.nullable === "NO",
          hasDefault: col.dflt !== null || col.identity === "YES",
        };
      }),
      primaryKey: (await constraintCols("p"))[0]?.split(",") ?? [],
      uniques: await constraintCols("u"),
      indexes: indexes.rows.map((r) => r.name),
    });
  }
  return shapes;
}

describe("the PostgreSQL state schema, derived from schema.sql", () => {
  const key = `postgres-schema-test-${process.pid}`;
  let dir: string;
  let sqlite: SqliteDatabase.Database;
  let url: string;
  let client: pg.Client;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "dbward-pg-schema-"));
    await openStore(dir).destroy();
    sqlite = new SqliteDatabase(join(dir, STORE_FILE), { readonly: true });
    await dropStateDatabase(key);
    url = await ensureStateDatabase(key);
    await (await openPostgresStore({ url, poolSize: 2, onIdleError: () => undefined })).destroy();
    client = new pg.Client({ connectionString: url });
    await client.connect();
  });
  after(async () => {
    sqlite.close();
    await client.end();
    await dropStateDatabase(key);
    rmSync(dir, { recursive: true, force: true });
  });

  test("holds the same tables, columns, keys and indexes as the SQLite store", async () => {
    const lite = sqliteShapes(sqlite);
    const post = await postgresShapes(client);
    assert.deepEqual([...post.keys()], [...lite.keys()]);
    for (const [table, shape] of lite) assert.deepEqual(post.get(table), shape, table);
  });

  test("allows exactly the values SQLite's CHECK constraints allow", async () => {
    const checks = await client.query<{ def: string }>(
      "select pg_get_constraintdef(oid) as def from pg_constraint where contype = 'c' and connamespace = 'public'::regnamespace",
    );
    // Every CHECK of schema.sql is in the derived DDL; PostgreSQL prints IN lists as = ANY (ARRAY[…]).
    const liteChecks = postgresSchema(
      (
        sqlite
          .prepare("SELECT group_concat(sql, ';') AS s FROM sqlite_master WHERE type = 'table'")
          .get() as {
          s: string;
        }
      ).s,
    ).match(/CHECK\s*\(/g);
    assert.equal(checks.rows.length, liteChecks?.length);
    const status = checks.rows.find((r) => r.def.includes("'pending_approval'"));
    assert.ok(status, "the requests.status CHECK is there");
    for (const s of ["approved", "dispatched", "running", "succeeded", "cancelled"])
      assert.ok(status.def.includes(`'${s}'`), s);
  });

  test("orders and compares text byte by byte, as SQLite does", async () => {
    const r = await client.query<{ a: string }>(
      "select table_name as a from information_schema.columns where table_schema = 'public' and data_type = 'text' and collation_name is distinct from 'C'",
    );
    assert.deepEqual(r.rows, []);
  });

  test("a second open finds nothing to change and keeps the rows", async () => {
    const store: Store = await openPostgresStore({ url, poolSize: 2, onIdleError: () => undefined });
    try {
      await store
        .insertInto("agents")
        .values({ id: "agent-1", last_seen_at: "2026-01-01T00:00:00.000Z", capabilities_json: "[]" })
        .execute();
    } finally {
      await store.destroy();
    }
    const again = await openPostgresStore({ url, poolSize: 2, onIdleError: () => undefined });
    try {
      assert.deepEqual(await again.selectFrom("agents").select("id").execute(), [{ id: "agent-1" }]);
    } finally {
      await again.destroy();
    }
  });

  test("a store made before dry runs gets the preflights count column and the widened kind CHECK", async () => {
    await client.query("alter table preflights drop constraint preflights_kind_check");
    await client.query(
      "alter table preflights add constraint preflights_kind_check check (kind in ('explain'))",
    );
    await client.query("alter table preflights drop column affected_rows");
    await (await openPostgresStore({ url, poolSize: 2, onIdleError: () => undefined })).destroy();
    const check = await client.query<{ def: string }>(
      "select pg_get_constraintdef(oid) as def from pg_constraint where conname = 'preflights_kind_check'",
    );
    assert.equal(check.rows.length, 1);
    assert.match(check.rows[0]?.def ?? "", /'explain'.*'dry_run'/);
    const column = await client.query(
      "select 1 from information_schema.columns where table_name = 'preflights' and column_name = 'affected_rows'",
    );
    assert.equal(column.rowCount, 1);
  });

  test("two instances opening one empty database at once both start, and the schema is applied once", async () => {
    const key2 = `${key}-race`;
    const raceUrl = await ensureStateDatabase(key2);
    try {
      const stores = await Promise.all(
        [1, 2, 3].map(() => openPostgresStore({ url: raceUrl, poolSize: 2, onIdleError: () => undefined })),
      );
      const versions = await stores[0]!.selectFrom("schema_version").selectAll().execute();
      assert.equal(versions.length, 1);
      await Promise.all(stores.map((s) => s.destroy()));
    } finally {
      await dropStateDatabase(key2);
    }
  });

  test("refuses a store a newer dbward has migrated", async () => {
    await client.query(
      "insert into schema_version (version, applied_at) values (999, '2026-01-01T00:00:00.000Z')",
    );
    try {
      await assert.rejects(
        openPostgresStore({ url, poolSize: 2, onIdleError: () => undefined }),
        /schema version 999, newer than this dbward/,
      );
    } finally {
      await client.query("delete from schema_version where version = 999");
    }
  });
});
