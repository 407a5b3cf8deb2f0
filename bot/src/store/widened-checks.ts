/**
 * CHECK constraints schema.sql widened after stores were created with their table. `CREATE TABLE
 * IF NOT EXISTS` leaves such a table with its old constraint, which would refuse the new values,
 * so each is widened at open, in the schema transaction, before schema.sql runs:
 *
 * - SQLite cannot alter a constraint: a table whose stored definition still has the old text is
 *   rebuilt from schema.sql's definition (create, copy the columns both have, drop, rename — the
 *   procedure SQLite's ALTER TABLE documentation gives); schema.sql then recreates its indexes.
 * - PostgreSQL names a column's CHECK `<table>_<column>_check`; one that does not yet allow the
 *   new value is dropped and added again as schema.sql defines it.
 *
 * Both steps find nothing to do on a store that is already current, so they run at every open.
 */
import { CompiledQuery, type Transaction } from "kysely";
import type SqliteDatabase from "better-sqlite3";

export interface WidenedCheck {
  readonly table: string;
  readonly column: string;
  /** The constraint as stores made before wrote it, exactly as in their CREATE TABLE. */
  readonly before: string;
  /** The constraint's expression now (schema.sql has `CHECK (<expression>)`). */
  readonly expression: string;
  /** A value the new constraint allows and the old one refused, to tell them apart. */
  readonly added: string;
}

export const WIDENED_CHECKS: readonly WidenedCheck[] = [
  {
    table: "preflights",
    column: "kind",
    before: "CHECK (kind IN ('explain'))",
    expression: "kind IN ('explain', 'dry_run')",
    added: "dry_run",
  },
];

/** The CREATE TABLE statement for `table` in schema.sql's text. */
function createStatement(schemaSql: string, table: string): string {
  const start = schemaSql.indexOf(`CREATE TABLE IF NOT EXISTS ${table} (`);
  const end = start < 0 ? -1 : schemaSql.indexOf("\n);", start);
  if (start < 0 || end < 0) throw new Error(`schema.sql defines no table ${table}`);
  return schemaSql.slice(start, end + 3);
}

/** Rebuilds each SQLite table that still has an old constraint; call inside the schema transaction. */
export function widenSqliteChecks(sqlite: SqliteDatabase.Database, schemaSql: string): void {
  for (const c of WIDENED_CHECKS) {
    const row = sqlite
      .prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?")
      .get(c.table) as { sql: string } | undefined;
    if (row === undefined || !row.sql.includes(c.before)) continue;
    const rebuilt = `${c.table}__widened`;
    sqlite.exec(
      createStatement(schemaSql, c.table).replace(
        `CREATE TABLE IF NOT EXISTS ${c.table} (`,
        `CREATE TABLE ${rebuilt} (`,
      ),
    );
    const columnsOf = (t: string) =>
      (sqlite.prepare(`PRAGMA table_info(${t})`).all() as { name: string }[]).map((col) => col.name);
    const kept = new Set(columnsOf(rebuilt));
    const shared = columnsOf(c.table).filter((name) => kept.has(name));
    const list = shared.join(", ");
    sqlite.exec(`INSERT INTO ${rebuilt} (${list}) SELECT ${list} FROM ${c.table}`);
    sqlite.exec(`DROP TABLE ${c.table}`);
    sqlite.exec(`ALTER TABLE ${rebuilt} RENAME TO ${c.table}`);
  }
}

/** Replaces each PostgreSQL constraint that does not allow its added value yet; inside the schema transaction. */
export async function widenPostgresChecks<DB>(tx: Transaction<DB>): Promise<void> {
  for (const c of WIDENED_CHECKS) {
    const name = `${c.table}_${c.column}_check`;
    await tx.executeQuery(
      CompiledQuery.raw(
        `do $$ begin
           if exists (select 1 from pg_constraint
                       where conname = '${name}' and conrelid = to_regclass('${c.table}')
                         and position('''${c.added}''' in pg_get_constraintdef(oid)) = 0) then
             alter table ${c.table} drop constraint ${name};
             alter table ${c.table} add constraint ${name} check (${c.expression});
           end if;
         end $$`,
      ),
    );
  }
}
