/**
 * The schema context of a PostgreSQL database, read from its catalogue only (pg_class,
 * pg_attribute, pg_constraint, pg_index): no query here reads a user table's rows. It runs in a
 * READ ONLY transaction with a short statement timeout, always rolled back.
 *
 * Tables are the ordinary and partitioned ones (partitions included: each is a table of its own)
 * in every schema but the system ones (pg_catalog, information_schema, TOAST and temporary
 * schemas), that the agent's user holds some privilege on, in a schema it may use: what it could
 * name in a statement. Largest first (pg_total_relation_size: table, indexes and TOAST), cut at
 * `maxTables`.
 */
import { MAX_SCHEMA_TABLES, type ForeignKeyAction, type SchemaTable } from "@dbward/shared";
import type pg from "pg";
import { inRolledBackPgTransaction } from "../preflight/postgres-preflight-session.ts";
import type { CollectedSchema, CollectOptions } from "./collected-schema.ts";
import { SCHEMA_TIMEOUT_MS } from "./collected-schema.ts";

/** pg_constraint.confdeltype / confupdtype. */
const PG_FK_ACTIONS: Readonly<Record<string, ForeignKeyAction>> = {
  a: "no_action",
  r: "restrict",
  c: "cascade",
  n: "set_null",
  d: "set_default",
};

const TABLES = `
SELECT c.oid::text AS oid, n.nspname AS schema, c.relname AS name, c.reltuples::float8 AS reltuples,
       pg_total_relation_size(c.oid) AS size_bytes, count(*) OVER () AS total
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\\_toast%'
   AND n.nspname NOT LIKE 'pg\\_temp\\_%'
   AND has_schema_privilege(n.oid, 'USAGE')
   AND has_table_privilege(c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
 ORDER BY size_bytes DESC, n.nspname, c.relname
 LIMIT $1`;

const COLUMNS = `
SELECT a.attrelid::text AS oid, a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS type,
       NOT a.attnotnull AS nullable
  FROM pg_attribute a
 WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attrelid, a.attnum`;

/** The names of `rel`'s columns `keys`, in the key's order. */
const keyNames = (keys: string, rel: string): string => `
  array(SELECT a.attname::text FROM unnest(${keys}) WITH ORDINALITY k(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = ${rel} AND a.attnum = k.attnum ORDER BY k.ord)`;

const CONSTRAINTS = `
SELECT con.conrelid::text AS oid, con.contype AS kind, con.conname::text AS name,
       ${keyNames("con.conkey", "con.conrelid")} AS columns,
       rn.nspname::text AS ref_schema, rc.relname::text AS ref_table,
       ${keyNames("con.confkey", "con.confrelid")} AS ref_columns,
       con.confdeltype AS on_delete, con.confupdtype AS on_update
  FROM pg_constraint con
  LEFT JOIN pg_class rc ON rc.oid = con.confrelid
  LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
 WHERE con.conrelid = ANY($1::oid[]) AND con.contype IN ('p', 'f')
 ORDER BY con.conrelid, con.conname`;

/** Key columns only (not INCLUDE ones); an expression is given as its text. */
const INDEXES = `
SELECT i.indrelid::text AS oid, ic.relname::text AS name, i.indisunique AS is_unique,
       array(SELECT pg_get_indexdef(i.indexrelid, k, true)
               FROM generate_series(1, i.indnkeyatts::int) k ORDER BY k) AS columns
  FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
 WHERE i.indrelid = ANY($1::oid[])
 ORDER BY i.indrelid, ic.relname`;

interface TableRow {
  oid: string;
  schema: string;
  name: string;
  reltuples: number;
  size_bytes: string;
  total: string;
}
interface ColumnRow {
  oid: string;
  name: string;
  type: string;
  nullable: boolean;
}
interface ConstraintRow {
  oid: string;
  kind: "p" | "f";
  name: string;
  columns: string[];
  ref_schema: string | null;
  ref_table: string | null;
  ref_columns: string[];
  on_delete: string;
  on_update: string;
}
interface IndexRow {
  oid: string;
  name: string;
  is_unique: boolean;
  columns: string[];
}

export async function collectPostgresSchema(
  pool: pg.Pool,
  options: CollectOptions = {},
): Promise<CollectedSchema> {
  const maxTables = options.maxTables ?? MAX_SCHEMA_TABLES;
  const transaction = { readOnly: true, statementTimeoutMs: options.statementTimeoutMs ?? SCHEMA_TIMEOUT_MS };
  return inRolledBackPgTransaction(pool, transaction, async (client) => {
    const tables = (await client.query<TableRow>(TABLES, [maxTables])).rows;
    const oids = tables.map((t) => t.oid);
    const byOid = new Map<string, SchemaTable>(tables.map((t) => [t.oid, tableOf(t)]));
    const columns = (await client.query<ColumnRow>(COLUMNS, [oids])).rows;
    for (const c of columns)
      byOid.get(c.oid)?.columns.push({ name: c.name, type: c.type, nullable: c.nullable });
    for (const c of (await client.query<ConstraintRow>(CONSTRAINTS, [oids])).rows) addConstraint(byOid, c);
    for (const i of (await client.query<IndexRow>(INDEXES, [oids])).rows)
      byOid.get(i.oid)?.indexes.push({ name: i.name, columns: i.columns, unique: i.is_unique });
    const total = Number(tables[0]?.total ?? 0);
    return { tables: [...byOid.values()], truncated: total > tables.length };
  });
}

function tableOf(row: TableRow): SchemaTable {
  return {
    schema: row.schema,
    name: row.name,
    // -1: never vacuumed or analyzed (PostgreSQL 14+), and always for a partitioned parent.
    estimated_rows: row.reltuples < 0 ? null : Math.round(row.reltuples),
    size_bytes: Number(row.size_bytes),
    columns: [],
    primary_key: [],
    foreign_keys: [],
    indexes: [],
  };
}

function addConstraint(byOid: Map<string, SchemaTable>, row: ConstraintRow): void {
  const table = byOid.get(row.oid);
  if (table === undefined) return;
  if (row.kind === "p") {
    table.primary_key = row.columns;
    return;
  }
  table.foreign_keys.push({
    name: row.name,
    columns: row.columns,
    references: { schema: row.ref_schema ?? "", table: row.ref_table ?? "", columns: row.ref_columns },
    on_delete: fkAction(row.on_delete),
    on_update: fkAction(row.on_update),
  });
}

function fkAction(code: string): ForeignKeyAction {
  const action = PG_FK_ACTIONS[code];
  if (action === undefined) throw new Error(`unknown foreign key action ${JSON.stringify(code)}`);
  return action;
}
