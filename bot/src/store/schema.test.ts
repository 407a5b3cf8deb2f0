import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import SqliteDatabase from "better-sqlite3";
import { OPERATION_CLASSES, REQUEST_STATUSES } from "@dbward/shared";
import ts from "typescript";
import { SCHEMA_VERSION, STORE_FILE, openStore, openStoreFile } from "./open-store.ts";
import { requestRow } from "../../../test/support/request-row.ts";

/** A column as tables.ts declares it. */
interface DeclaredColumn {
  readonly name: string;
  readonly type: "TEXT" | "INTEGER" | "BLOB";
  readonly nullable: boolean;
  /** `Generated<…>`: the store fills it in (a rowid or a default). */
  readonly generated: boolean;
  /** Set when the TypeScript type is a union of string literals. */
  readonly literals?: readonly string[];
}

interface ColumnInfo {
  readonly name: string;
  readonly type: string;
  readonly notnull: number;
  readonly dflt_value: string | null;
  readonly pk: number;
}

/** Reads tables.ts with the TypeScript parser: table name → declared columns. */
function declaredTables(): Map<string, DeclaredColumn[]> {
  const file = new URL("./tables.ts", import.meta.url);
  const source = ts.createSourceFile("tables.ts", readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const interfaces = new Map<string, ts.InterfaceDeclaration>();
  source.statements.forEach((s) => {
    if (ts.isInterfaceDeclaration(s)) interfaces.set(s.name.text, s);
  });
  const database = interfaces.get("Database");
  assert.ok(database !== undefined, "tables.ts declares Database");
  const tables = new Map<string, DeclaredColumn[]>();
  for (const member of database.members) {
    assert.ok(ts.isPropertySignature(member) && member.type !== undefined);
    const tableInterface = interfaces.get(member.type.getText(source));
    assert.ok(tableInterface !== undefined, `tables.ts declares ${member.type.getText(source)}`);
    tables.set(
      member.name.getText(source),
      tableInterface.members.map((m) => {
        assert.ok(ts.isPropertySignature(m) && m.type !== undefined);
        return declaredColumn(m.name.getText(source), m.type.getText(source));
      }),
    );
  }
  return tables;
}

function declaredColumn(name: string, typeText: string): DeclaredColumn {
  const generated = /^Generated<(.+)>$/.exec(typeText);
  const parts = (generated?.[1] ?? typeText).split("|").map((p) => p.trim());
  const nullable = parts.includes("null");
  const base = parts.filter((p) => p !== "null");
  const literals = base.every((p) => /^"[^"]*"$/.test(p)) ? base.map((p) => p.slice(1, -1)) : undefined;
  const type = base.every((p) => p === "number")
    ? "INTEGER"
    : base.every((p) => p === "string") || literals
      ? "TEXT"
      : base.every((p) => p === "Buffer")
        ? "BLOB"
        : undefined;
  assert.ok(type !== undefined, `tables.ts: ${name} has a type this test cannot map: ${typeText}`);
  return { name, type, nullable, generated: generated !== null, ...(literals ? { literals } : {}) };
}

/** The values a `CHECK (column IN (…))` constraint allows, from the table's CREATE statement. */
function checkedValues(createSql: string, column: string): string[] | undefined {
  const m = new RegExp(`CHECK\\s*\\(\\s*${column}\\s+IN\\s*\\(([^)]*)\\)\\s*\\)`, "i").exec(createSql);
  return m?.[1]?.split(",").map((v) => v.trim().replace(/^'|'$/g, ""));
}

describe("state store schema", () => {
  let dir: string;
  let sqlite: SqliteDatabase.Database;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "dbward-schema-"));
    await openStore(dir).destroy();
    sqlite = new SqliteDatabase(join(dir, STORE_FILE), { readonly: true });
  });
  after(() => {
    sqlite.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const tableNames = (db: SqliteDatabase.Database): string[] =>
    (
      db
        .prepare(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .all() as { name: string }[]
    ).map((r) => r.name);
  const columnsOf = (db: SqliteDatabase.Database, table: string): ColumnInfo[] =>
    db.prepare(`SELECT * FROM pragma_table_info(?)`).all(table) as ColumnInfo[];
  const createSqlOf = (table: string): string =>
    (
      sqlite.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) as {
        sql: string;
      }
    ).sql;
  const isRowid = (columns: readonly ColumnInfo[], c: ColumnInfo): boolean =>
    c.pk === 1 && c.type === "INTEGER" && columns.filter((x) => x.pk > 0).length === 1;

  test("creates exactly the tables tables.ts declares", () => {
    assert.deepEqual(tableNames(sqlite), [...declaredTables().keys()].sort());
  });

  test("gives every table exactly the columns, types and nullability tables.ts declares", () => {
    for (const [table, declared] of declaredTables()) {
      const actual = columnsOf(sqlite, table);
      assert.deepEqual(
        actual.map((c) => c.name).sort(),
        declared.map((c) => c.name).sort(),
        `columns of ${table}`,
      );
      for (const d of declared) {
        const c = actual.find((x) => x.name === d.name);
        assert.ok(c !== undefined);
        assert.equal(c.type, d.type, `${table}.${d.name} type`);
        const refusesNull = c.notnull === 1 || c.pk > 0;
        assert.equal(
          refusesNull,
          !d.nullable,
          `${table}.${d.name}: nullable in tables.ts iff nullable in schema.sql`,
        );
        if (d.generated) {
          assert.ok(
            isRowid(actual, c) || c.dflt_value !== null,
            `${table}.${d.name} is Generated<> so the store must fill it (rowid or default)`,
          );
        }
      }
    }
  });

  test("refuses NULL in every column tables.ts declares non-null, primary keys included", () => {
    // SQLite lets a non-INTEGER PRIMARY KEY hold NULL unless the column also says NOT NULL.
    const offenders: string[] = [];
    for (const [table, declared] of declaredTables()) {
      const actual = columnsOf(sqlite, table);
      for (const d of declared.filter((x) => !x.nullable)) {
        const c = actual.find((x) => x.name === d.name);
        if (c !== undefined && c.notnull !== 1 && !isRowid(actual, c)) offenders.push(`${table}.${d.name}`);
      }
    }
    assert.deepEqual(offenders, []);
  });

  test("checks every string-literal column against the values tables.ts allows", () => {
    for (const [table, declared] of declaredTables()) {
      for (const d of declared.filter((x) => x.literals !== undefined)) {
        assert.deepEqual(
          checkedValues(createSqlOf(table), d.name)?.sort(),
          [...(d.literals ?? [])].sort(),
          `${table}.${d.name}`,
        );
      }
    }
  });

  test("allows exactly the request statuses and operation classes the protocol names", () => {
    const requests = createSqlOf("requests");
    assert.deepEqual(checkedValues(requests, "status")?.sort(), [...REQUEST_STATUSES].sort());
    assert.deepEqual(checkedValues(requests, "operation")?.sort(), [...OPERATION_CLASSES].sort());
  });

  test("records the schema version this dbward writes", () => {
    assert.deepEqual(sqlite.prepare("SELECT version FROM schema_version").all(), [
      { version: SCHEMA_VERSION },
    ]);
  });

  test("opens an existing store again without changing its tables or losing data", async () => {
    const d = mkdtempSync(join(tmpdir(), "dbward-schema-"));
    try {
      const first = openStore(d);
      await first
        .insertInto("agents")
        .values({ id: "agent-1", last_seen_at: "2024-01-01T00:00:00.000Z", capabilities_json: "[]" })
        .execute();
      await first.destroy();
      for (let i = 0; i < 2; i++) await openStore(d).destroy();
      const again = openStore(d);
      try {
        assert.deepEqual(await again.selectFrom("agents").select("id").execute(), [{ id: "agent-1" }]);
        assert.deepEqual(await again.selectFrom("schema_version").selectAll().execute(), [
          { version: SCHEMA_VERSION, applied_at: "1970-01-01T00:00:00.000Z" },
        ]);
      } finally {
        await again.destroy();
      }
      const raw = new SqliteDatabase(join(d, STORE_FILE), { readonly: true });
      try {
        assert.deepEqual(tableNames(raw), tableNames(sqlite));
        for (const t of tableNames(raw)) assert.deepEqual(columnsOf(raw, t), columnsOf(sqlite, t), t);
      } finally {
        raw.close();
      }
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  test("applies schema.sql twice over the same file harmlessly", () => {
    const d = mkdtempSync(join(tmpdir(), "dbward-schema-"));
    try {
      const raw = new SqliteDatabase(join(d, STORE_FILE));
      try {
        const schema = readFileSync(new URL("../../../schema.sql", import.meta.url), "utf8");
        raw.exec(schema);
        raw.exec(schema);
        assert.deepEqual(tableNames(raw), tableNames(sqlite));
        assert.deepEqual(raw.prepare("SELECT version FROM schema_version").all(), [{ version: 1 }]);
      } finally {
        raw.close();
      }
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  test("adds a table schema.sql gained since to a store created before it, keeping the data", async () => {
    const d = mkdtempSync(join(tmpdir(), "dbward-schema-"));
    try {
      const first = openStore(d);
      await first
        .insertInto("agents")
        .values({ id: "agent-1", last_seen_at: "2024-01-01T00:00:00.000Z", capabilities_json: "[]" })
        .execute();
      await first.destroy();
      const raw = new SqliteDatabase(join(d, STORE_FILE));
      raw.exec("DROP TABLE agent_sessions");
      raw.close();
      const again = openStore(d);
      try {
        assert.deepEqual(await again.selectFrom("agent_sessions").selectAll().execute(), []);
        assert.deepEqual(await again.selectFrom("agents").select("id").execute(), [{ id: "agent-1" }]);
      } finally {
        await again.destroy();
      }
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  test("adds the columns schema.sql gained since to a store whose tables lack them, keeping the rows", async () => {
    const d = mkdtempSync(join(tmpdir(), "dbward-schema-"));
    try {
      await openStore(d).destroy();
      // As a store written before Run again and the outbox lease token: the tables without them.
      const raw = new SqliteDatabase(join(d, STORE_FILE));
      raw.exec("ALTER TABLE requests DROP COLUMN rerun_of");
      raw.exec("DROP INDEX IF EXISTS slack_outbox_lane");
      raw.exec("ALTER TABLE slack_outbox DROP COLUMN lease_token");
      raw.close();
      const again = openStore(d);
      try {
        const raw2 = new SqliteDatabase(join(d, STORE_FILE), { readonly: true });
        const names = (t: string) =>
          (raw2.prepare(`PRAGMA table_info(${t})`).all() as { name: string }[]).map((c) => c.name);
        assert.ok(names("requests").includes("rerun_of"));
        assert.ok(names("slack_outbox").includes("lease_token"));
        raw2.close();
      } finally {
        await again.destroy();
      }
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  test("widens a CHECK schema.sql widened since, keeping the rows and the table's indexes", async () => {
    const d = mkdtempSync(join(tmpdir(), "dbward-schema-"));
    try {
      const first = openStore(d);
      const at = "2026-01-01T00:00:00.000Z";
      await first
        .insertInto("requests")
        .values(requestRow({ id: 1, status: "pending_approval", created_at: at, expires_at: at }))
        .execute();
      await first.destroy();
      // As a store written before dry runs: preflights allowed kind 'explain' alone, had no count.
      const raw = new SqliteDatabase(join(d, STORE_FILE));
      const current = (
        raw.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'preflights'").get() as {
          sql: string;
        }
      ).sql;
      raw.exec("DROP TABLE preflights");
      raw.exec(
        current
          .replace("CHECK (kind IN ('explain', 'dry_run'))", "CHECK (kind IN ('explain'))")
          .replace(/\n\s*affected_rows INTEGER,[^\n]*/, ""),
      );
      raw.exec(
        "INSERT INTO preflights (id, request_id, kind, status, created_at) VALUES ('1-explain', 1, 'explain', 'pending', '2026-01-01T00:00:00.000Z')",
      );
      assert.throws(() =>
        raw.exec(
          "INSERT INTO preflights (id, request_id, kind, status, created_at) VALUES ('1-dry_run', 1, 'dry_run', 'pending', '2026-01-01T00:00:00.000Z')",
        ),
      );
      raw.close();
      const again = openStore(d);
      try {
        await again
          .insertInto("preflights")
          .values({
            id: "1-dry_run",
            request_id: 1,
            kind: "dry_run",
            status: "pending",
            created_at: "2026-01-01T00:00:01.000Z",
          })
          .execute();
        const rows = await again
          .selectFrom("preflights")
          .select(["id", "kind", "affected_rows"])
          .orderBy("id")
          .execute();
        assert.deepEqual(rows, [
          { id: "1-dry_run", kind: "dry_run", affected_rows: null },
          { id: "1-explain", kind: "explain", affected_rows: null },
        ]);
        const raw2 = new SqliteDatabase(join(d, STORE_FILE), { readonly: true });
        const indexes = (
          raw2
            .prepare(
              "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'preflights' AND sql IS NOT NULL",
            )
            .all() as { name: string }[]
        ).map((i) => i.name);
        raw2.close();
        assert.deepEqual(indexes.sort(), ["preflights_request", "preflights_status"]);
      } finally {
        await again.destroy();
      }
      // And a store already widened is left as it is.
      const third = openStore(d);
      try {
        assert.equal((await third.selectFrom("preflights").select("id").execute()).length, 2);
      } finally {
        await third.destroy();
      }
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  test("refuses a store written by a newer dbward, naming both versions", async () => {
    const d = mkdtempSync(join(tmpdir(), "dbward-schema-"));
    try {
      await openStore(d).destroy();
      const raw = new SqliteDatabase(join(d, STORE_FILE));
      raw
        .prepare("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)")
        .run(SCHEMA_VERSION + 1, "2030-01-01T00:00:00.000Z");
      raw.close();
      assert.throws(
        () => openStoreFile(join(d, STORE_FILE)),
        (err: unknown) =>
          err instanceof Error &&
          err.message.includes(`schema version ${SCHEMA_VERSION + 1}`) &&
          err.message.includes(`(${SCHEMA_VERSION})`) &&
          err.message.includes("upgrade"),
      );
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  test("refuses to open a missing store read-only instead of creating one", () => {
    const d = mkdtempSync(join(tmpdir(), "dbward-schema-"));
    try {
      assert.throws(() => openStoreFile(join(d, STORE_FILE), { readonly: true }));
      assert.equal(existsSync(join(d, STORE_FILE)), false, "no file was created");
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
