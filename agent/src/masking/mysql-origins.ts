/**
 * Result column origins on MySQL/MariaDB. A column definition names the database, the original
 * table and the original column (mysql2 `db`, `orgTable`, `orgName`), empty for an expression.
 * The server reports a view's name for its columns, and, for a column of a CTE or a derived
 * table, that CTE's or alias's name and the column's alias — names a query can choose to match
 * an unmasked table (`WITH orders AS (SELECT email AS note FROM users) SELECT note FROM orders`
 * is reported as `orders.note`). So an origin is proven only when it names a base table
 * (information_schema) that the statement itself reads by name, and no CTE or derived table of
 * the statement has that name; anything else is unproven.
 */
import { findMaskedColumnUse, type SignedMask } from "@dbward/shared";
import { UNPROVEN, type ColumnOrigin } from "./column-origin.ts";
import { unknownColumns } from "./postgres-origins.ts";

/** Runs one query with placeholders (a pooled connection of the same database). */
export type MysqlQuery = (sql: string, values: unknown[]) => Promise<Record<string, unknown>[]>;

interface MysqlField {
  readonly db?: string;
  readonly orgTable?: string;
  readonly orgName?: string;
}

const lower = (s: string): string => s.toLowerCase();

/**
 * The server's own databases: their base tables are unproven. MariaDB's mysql.column_stats keeps
 * each column's minimum and maximum value (a masked one's included), performance_schema keeps
 * statement texts.
 */
const SYSTEM_DATABASES = new Set(["mysql", "information_schema", "performance_schema", "sys"]);

/** The names a statement reads as real tables, or undefined when its parse cannot tell. */
export function tablesReadByName(sql: string):
  | {
      reads: ReadonlySet<string>;
      shadowed: ReadonlySet<string>;
      relations: readonly { readonly schema: string | null; readonly name: string }[];
    }
  | undefined {
  const found = findMaskedColumnUse(sql, "mysql", []);
  if (!found.determinable) return undefined;
  // MariaDB reports a view's columns under the alias it is given (`FROM other.v AS orders` comes
  // back as orders.note), a base table's under its own name: a name used as an alias shadows too.
  return {
    reads: new Set(found.reads),
    shadowed: new Set([...found.derived, ...found.aliases]),
    relations: found.relations,
  };
}

/**
 * Whether the statement names `db`.`table` itself: qualified by that database, or unqualified
 * while it is the connection's default. MariaDB reports a view's columns under the *default*
 * database and the view's name (`SELECT note FROM other.orders`, a view over users, comes back
 * as `test.orders.note`), so a view in another database named like a base table of this one
 * would otherwise pass for it; and one of that name in two databases is ambiguous.
 */
function namesTable(
  relations: readonly { readonly schema: string | null; readonly name: string }[],
  db: string,
  table: string,
  defaultDb: string | undefined,
): boolean {
  const same = relations.filter((r) => lower(r.name) === lower(table));
  // Every relation of that name must be this one: a statement reading `orders` and a view
  // `other.orders` gets the view's columns reported as `test.orders` too.
  return (
    same.length > 0 &&
    same.every((r) =>
      r.schema === null ? defaultDb !== undefined && defaultDb === db : lower(r.schema) === lower(db),
    )
  );
}

/** The origin of each column of a result, in order. */
export async function mysqlOrigins(
  query: MysqlQuery,
  sql: string,
  fields: readonly MysqlField[],
): Promise<ColumnOrigin[]> {
  const named = tablesReadByName(sql);
  const origins: ColumnOrigin[] = fields.map(() => UNPROVEN);
  if (named === undefined) return origins;
  const candidates = fields
    .map((f, i) => ({ f, i }))
    .filter(
      ({ f }) =>
        f.db &&
        f.orgTable &&
        f.orgName &&
        named.reads.has(lower(f.orgTable)) &&
        !named.shadowed.has(lower(f.orgTable)),
    );
  if (candidates.length === 0) return origins;
  const defaultDb = (await query("SELECT DATABASE() AS d", []))[0]?.d;
  const current = typeof defaultDb === "string" ? defaultDb : undefined;
  const pairs = [...new Set(candidates.map(({ f }) => JSON.stringify([f.db, f.orgTable])))].map(
    (k) => JSON.parse(k) as [string, string],
  );
  const rows = await query(
    `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t FROM information_schema.TABLES
      WHERE TABLE_TYPE = 'BASE TABLE' AND (${pairs.map(() => "(TABLE_SCHEMA = ? AND TABLE_NAME = ?)").join(" OR ")})`,
    pairs.flat(),
  );
  const base = new Set(
    rows
      .filter((r) => !SYSTEM_DATABASES.has(lower(String(r.s))))
      .map((r) => JSON.stringify([String(r.s), String(r.t)])),
  );
  for (const { f, i } of candidates) {
    if (!base.has(JSON.stringify([f.db, f.orgTable]))) continue;
    if (!namesTable(named.relations, String(f.db), String(f.orgTable), current)) continue;
    origins[i] = {
      kind: "column",
      schema: String(f.db),
      table: String(f.orgTable),
      column: String(f.orgName),
    };
  }
  return origins;
}

/** Throws `masking.unknown_column` when a signed mask names a column no base table has. */
export async function assertMysqlMaskedColumnsExist(
  query: MysqlQuery,
  masks: readonly SignedMask[],
): Promise<void> {
  const missing: SignedMask[] = [];
  for (const m of masks) {
    const rows = await query(
      `SELECT 1 AS found FROM information_schema.COLUMNS c
         JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
        WHERE t.TABLE_TYPE = 'BASE TABLE' AND lower(c.TABLE_NAME) = lower(?) AND lower(c.COLUMN_NAME) = lower(?)
          AND (? IS NULL OR lower(c.TABLE_SCHEMA) = lower(?)) LIMIT 1`,
      [m.table, m.column, m.schema, m.schema],
    );
    if (rows.length === 0) missing.push(m);
  }
  if (missing.length > 0) throw unknownColumns(missing);
}
