/**
 * Result column origins on PostgreSQL. The RowDescription of a result names, for each column
 * taken straight from a table or view, that relation's OID and the column's number (pg's
 * `fields[].tableID/columnID`; 0 for anything computed). PostgreSQL follows a column through
 * aliases, subqueries and CTEs to its table; a view's column names the view, so it stays
 * unproven, as do partitions and inheritance children (a parent's mask covers their rows) and
 * anything that is not a plain or partitioned table. A system catalogue's column is unproven too:
 * pg_statistic's `stavalues*` hold sampled values of every column, a masked one's included.
 *
 * The lookup runs once per query, after the first batch arrives (its fields come with it) and
 * before any row leaves, on another pooled connection: the job's own connection is busy with the
 * open cursor. An OID it cannot find (dropped meanwhile) is unproven.
 */
import { DbwardError, type SignedMask } from "@dbward/shared";
import type pg from "pg";
import { UNPROVEN, type ColumnOrigin } from "./column-origin.ts";

interface Queryable {
  query(text: string, values: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

const ORIGINS = `SELECT f.i::int AS i, n.nspname, c.relname, a.attname
  FROM unnest($1::oid[], $2::int2[]) WITH ORDINALITY AS f(relid, attnum, i)
  JOIN pg_class c ON c.oid = f.relid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = f.attnum AND NOT a.attisdropped
 WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
   AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = c.oid)
   AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'`;

/** The origin of each column of a result, in order. */
export async function postgresOrigins(
  db: Queryable,
  fields: readonly { readonly tableID: number; readonly columnID: number }[],
): Promise<ColumnOrigin[]> {
  const origins: ColumnOrigin[] = fields.map(() => UNPROVEN);
  const traced = fields.filter((f) => f.tableID !== 0 && f.columnID > 0);
  if (traced.length === 0) return origins;
  const { rows } = await db.query(ORIGINS, [fields.map((f) => f.tableID), fields.map((f) => f.columnID)]);
  for (const r of rows) {
    const i = Number(r.i) - 1;
    if (fields[i] === undefined || fields[i].tableID === 0) continue;
    origins[i] = {
      kind: "column",
      schema: String(r.nspname),
      table: String(r.relname),
      column: String(r.attname),
    };
  }
  return origins;
}

const MISSING = `SELECT m.i::int AS i
  FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS m(s, t, col, i)
 WHERE NOT EXISTS (
   SELECT 1 FROM pg_class c
     JOIN pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE c.relkind IN ('r', 'p') AND lower(c.relname) = lower(m.t)
      AND (m.s IS NULL OR lower(n.nspname) = lower(m.s)) AND lower(a.attname) = lower(m.col))`;

/**
 * Throws `masking.unknown_column` when a signed mask names a column no table of the database
 * has: its policy is wrong (a typo, a renamed column), and the agent cannot tell what it meant
 * to cover, so nothing runs.
 */
export async function assertPostgresMaskedColumnsExist(
  client: pg.ClientBase,
  masks: readonly SignedMask[],
): Promise<void> {
  const { rows } = await client.query<{ i: number }>(MISSING, [
    masks.map((m) => m.schema),
    masks.map((m) => m.table),
    masks.map((m) => m.column),
  ]);
  const missing = rows.map((r) => masks[r.i - 1]).filter((m) => m !== undefined);
  if (missing.length > 0) throw unknownColumns(missing);
}

export function unknownColumns(missing: readonly SignedMask[]): DbwardError {
  const names = missing.map((m) => `${m.schema === null ? "" : `${m.schema}.`}${m.table}.${m.column}`);
  return new DbwardError(
    "masking.unknown_column",
    `a masking policy names ${names.join(", ")}, which this database does not have, so the agent cannot prove what to mask and did not run the statement; correct the policy in the bot's config`,
  );
}
