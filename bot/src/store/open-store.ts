/**
 * Opens the embedded SQLite state store: one file under the data directory, WAL journal, a busy
 * timeout, and every Kysely transaction begun IMMEDIATE so that two writers (two bot processes on
 * one file, or a bot and a CLI) serialise at BEGIN instead of failing at COMMIT — the audit chain
 * append reads the chain's head inside the transaction, and a deferred BEGIN would let two
 * writers read the same head and fork the chain.
 *
 * The state holds token hashes, the audit chain and every request's SQL, so its files are 0600 like
 * the signing key (SECURITY.md, operational hardening): the file is made 0600 before SQLite opens
 * it, and SQLite gives the `-wal` and `-shm` files it creates the database file's mode. Files an
 * older dbward left readable by others are tightened at open.
 */
import { chmodSync, closeSync, existsSync, openSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import SqliteDatabase from "better-sqlite3";
import {
  CompiledQuery,
  Kysely,
  SqliteAdapter,
  SqliteDriver,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type SqliteDialectConfig,
} from "kysely";
import { runtimeFile } from "../runtime-files.ts";
import { ADDED_COLUMNS } from "./added-columns.ts";
import { widenSqliteChecks } from "./widened-checks.ts";
import type { Database } from "./tables.ts";

export const SCHEMA_VERSION = 1;
export const STORE_FILE = "dbward.sqlite";
/** schema.sql, the one definition of the state store (the PostgreSQL DDL is derived from it). */
export const schemaPath = (): string => runtimeFile("schema.sql");

export type Store = Kysely<Database>;

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin immediate"));
  }
}

class ImmediateSqliteDialect implements Dialect {
  constructor(private readonly config: SqliteDialectConfig) {}
  createDriver = () => new ImmediateSqliteDriver(this.config);
  createQueryCompiler = () => new SqliteQueryCompiler();
  createAdapter = () => new SqliteAdapter();
  createIntrospector = (db: Kysely<unknown>) => new SqliteIntrospector(db);
}

export interface OpenStoreOptions {
  /** Open without applying the schema and refuse writes (offline audit verification). */
  readonly readonly?: boolean;
}

/** Opens (and on first use creates) the store at `<dataDir>/dbward.sqlite`. */
export function openStore(dataDir: string, options: OpenStoreOptions = {}): Store {
  return openStoreFile(join(dataDir, STORE_FILE), options);
}

export function openStoreFile(file: string, options: OpenStoreOptions = {}): Store {
  if (!options.readonly) makePrivate(file);
  const sqlite = new SqliteDatabase(file, {
    readonly: options.readonly ?? false,
    fileMustExist: options.readonly ?? false,
  });
  sqlite.pragma("busy_timeout = 5000");
  if (!options.readonly) {
    sqlite.pragma("journal_mode = WAL");
    sqlite.pragma("synchronous = NORMAL");
    sqlite.pragma("foreign_keys = ON");
    try {
      applySchema(sqlite);
    } catch (err) {
      sqlite.close();
      throw err;
    }
  }
  return new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: sqlite }) });
}

const STATE_MODE = 0o600;

/** Creates `file` 0600 when missing; takes group and other access off it and its WAL files. */
function makePrivate(file: string): void {
  closeSync(openSync(file, "a", STATE_MODE));
  for (const path of [file, `${file}-wal`, `${file}-shm`]) {
    if (existsSync(path) && (statSync(path).mode & 0o077) !== 0) chmodSync(path, STATE_MODE);
  }
}

function addMissingColumns(sqlite: SqliteDatabase.Database): void {
  for (const c of ADDED_COLUMNS) {
    const columns = sqlite.prepare(`PRAGMA table_info(${c.table})`).all() as { name: string }[];
    if (columns.length > 0 && !columns.some((col) => col.name === c.column))
      sqlite.exec(`ALTER TABLE ${c.table} ADD COLUMN ${c.column} ${c.definition}`);
  }
}

/**
 * Applies schema.sql in one transaction at every open; refuses a newer store. Every statement in
 * it is idempotent (`IF NOT EXISTS`, guarded inserts), so a table added to it later reaches a
 * store created before; a column added to an existing table is in ADDED_COLUMNS, a widened CHECK
 * in WIDENED_CHECKS; a changed column would need its own step and a new SCHEMA_VERSION.
 */
function applySchema(sqlite: SqliteDatabase.Database): void {
  const hasVersion = sqlite
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'")
    .get();
  if (hasVersion !== undefined) {
    const row = sqlite.prepare("SELECT MAX(version) AS v FROM schema_version").get() as {
      v: number | null;
    };
    if ((row.v ?? 0) > SCHEMA_VERSION) {
      throw new Error(
        `the state store is at schema version ${row.v}, newer than this dbward (${SCHEMA_VERSION}); upgrade dbward`,
      );
    }
  }
  sqlite
    .transaction(() => {
      addMissingColumns(sqlite);
      const schemaSql = readFileSync(schemaPath(), "utf8");
      widenSqliteChecks(sqlite, schemaSql);
      sqlite.exec(schemaSql);
    })
    .immediate();
}
