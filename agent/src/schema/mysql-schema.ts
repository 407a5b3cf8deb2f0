/**
 * The schema context of a MySQL/MariaDB database, read from information_schema only (TABLES,
 * COLUMNS, STATISTICS, KEY_COLUMN_USAGE, REFERENTIAL_CONSTRAINTS): no query here reads a user
 * table's rows. The session's statement timeout is short and reset afterwards
 * (mysql-preflight-session.ts); the reads run in a READ ONLY transaction.
 *
 * Only the connection's own database (`DATABASE()`, the one its URL names): that is the database
 * this agent's capability names, and the one an unqualified table in a request resolves to. The
 * other schemas the same user may see on the server are other databases — configured, if at
 * all, as other dbward databases with their own reports — and listing them here would put
 * another database's tables in this one's context. Base tables only (no views), largest first
 * (DATA_LENGTH + INDEX_LENGTH), cut at `maxTables`. TABLE_ROWS is the engine's estimate (exact
 * for MyISAM, sampled for InnoDB).
 */
import { MAX_SCHEMA_TABLES, type ForeignKeyAction, type SchemaTable } from "@dbward/shared";
import type mysql from "mysql2";
import { onMysqlPreflightConnection } from "../preflight/mysql-preflight-session.ts";
import { SCHEMA_TIMEOUT_MS, type CollectedSchema, type CollectOptions } from "./collected-schema.ts";

/** REFERENTIAL_CONSTRAINTS.DELETE_RULE / UPDATE_RULE. */
const MYSQL_FK_ACTIONS: Readonly<Record<string, ForeignKeyAction>> = {
  "NO ACTION": "no_action",
  RESTRICT: "restrict",
  CASCADE: "cascade",
  "SET NULL": "set_null",
  "SET DEFAULT": "set_default",
};

const COUNT = `SELECT COUNT(*) FROM information_schema.TABLES
 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'`;

/** `limit` is an integer this module checked; session queries take no parameters. */
const tablesQuery = (limit: number): string => `
SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_ROWS, DATA_LENGTH + INDEX_LENGTH AS SIZE_BYTES
  FROM information_schema.TABLES
 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'
 ORDER BY SIZE_BYTES DESC, TABLE_NAME
 LIMIT ${limit}`;

const COLUMNS = `
SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS
 WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION`;

/** COLUMN_NAME is NULL for a MySQL functional index key part. */
const INDEXES = `
SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME FROM information_schema.STATISTICS
 WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`;

const FOREIGN_KEYS = `
SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_SCHEMA,
       k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, r.DELETE_RULE, r.UPDATE_RULE
  FROM information_schema.KEY_COLUMN_USAGE k
  JOIN information_schema.REFERENTIAL_CONSTRAINTS r
    ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
   AND r.TABLE_NAME = k.TABLE_NAME
 WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IS NOT NULL
 ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION`;

type Row = (string | number | null)[];

export async function collectMysqlSchema(
  pool: mysql.Pool,
  options: CollectOptions = {},
): Promise<CollectedSchema> {
  const maxTables = options.maxTables ?? MAX_SCHEMA_TABLES;
  if (!Number.isSafeInteger(maxTables) || maxTables < 0) throw new Error("maxTables must be an integer");
  const limits = { statementTimeoutMs: options.statementTimeoutMs ?? SCHEMA_TIMEOUT_MS };
  return onMysqlPreflightConnection(pool, limits, async (session) => {
    const rows = async (sql: string): Promise<Row[]> => (await session.query(sql)) as Row[];
    await session.query("START TRANSACTION READ ONLY");
    const total = Number((await rows(COUNT))[0]?.[0] ?? 0);
    const byName = new Map<string, SchemaTable>();
    for (const [schema, name, estimated, size] of await rows(tablesQuery(maxTables)))
      byName.set(String(name), {
        schema: String(schema),
        name: String(name),
        estimated_rows: numberOrNull(estimated),
        size_bytes: numberOrNull(size),
        columns: [],
        primary_key: [],
        foreign_keys: [],
        indexes: [],
      });
    for (const [table, name, type, nullable] of await rows(COLUMNS))
      byName
        .get(String(table))
        ?.columns.push({ name: String(name), type: String(type), nullable: nullable === "YES" });
    addIndexes(byName, await rows(INDEXES));
    addForeignKeys(byName, await rows(FOREIGN_KEYS));
    return { tables: [...byName.values()], truncated: total > byName.size };
  });
}

function addIndexes(byName: Map<string, SchemaTable>, rows: Row[]): void {
  for (const [tableName, indexName, nonUnique, column] of rows) {
    const table = byName.get(String(tableName));
    if (table === undefined) continue;
    const name = String(indexName);
    let index = table.indexes.find((i) => i.name === name);
    if (index === undefined) {
      index = { name, columns: [], unique: Number(nonUnique) === 0 };
      table.indexes.push(index);
    }
    index.columns.push(column === null ? "(expression)" : String(column));
    if (name === "PRIMARY") table.primary_key = index.columns;
  }
}

function addForeignKeys(byName: Map<string, SchemaTable>, rows: Row[]): void {
  for (const [tableName, constraint, column, refSchema, refTable, refColumn, onDelete, onUpdate] of rows) {
    const table = byName.get(String(tableName));
    if (table === undefined) continue;
    const name = String(constraint);
    let fk = table.foreign_keys.find((f) => f.name === name);
    if (fk === undefined) {
      fk = {
        name,
        columns: [],
        references: { schema: String(refSchema), table: String(refTable), columns: [] },
        on_delete: fkAction(onDelete),
        on_update: fkAction(onUpdate),
      };
      table.foreign_keys.push(fk);
    }
    fk.columns.push(String(column));
    fk.references.columns.push(String(refColumn));
  }
}

function numberOrNull(value: string | number | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

function fkAction(rule: string | number | null | undefined): ForeignKeyAction {
  const action = MYSQL_FK_ACTIONS[String(rule)];
  if (action === undefined) throw new Error(`unknown foreign key rule ${JSON.stringify(rule)}`);
  return action;
}
