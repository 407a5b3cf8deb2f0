/**
 * The target of `dbward state migrate` must be a database of dbward's own that holds nothing yet:
 * no row in any state table but those schema.sql writes itself when applied (its version and the
 * checkpoint counter, which the copy replaces), and no table dbward does not know — a URL pointed
 * at an application's database by mistake is refused from a read-only session, before the schema
 * is created in it.
 */
import type { Store } from "@dbward/bot/store/open-store";
import { sql } from "kysely";
import { CliError } from "../cli-error.ts";
import { EXIT } from "../exit-codes.ts";
import { connectPostgres, describeStateUrl } from "../read-state.ts";
import { hasRows } from "./state-copy.ts";
import type { StateTables } from "./state-tables.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** Looks at the target read-only: refuses foreign tables and state tables with rows. */
export async function assertTargetUnused(url: string, env: Env, schema: StateTables): Promise<void> {
  const target = await connectPostgres(url, env, true);
  try {
    const present = await sql<{ name: string }>`
      select table_name as name from information_schema.tables
      where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`.execute(
      target,
    );
    const known = new Set(schema.tables);
    const foreign = present.rows.find((t) => !known.has(t.name));
    if (foreign !== undefined)
      throw new CliError(
        `${describeStateUrl(url)} holds a table dbward does not know (${foreign.name}): point --to at an empty database of dbward's own (nothing was copied)`,
        EXIT.refused,
      );
    const existing = new Set(present.rows.map((t) => t.name));
    await assertTargetEmpty(target, schema, existing);
  } finally {
    await target.destroy();
  }
}

/** Every state table of the target (those in `existing`, when given) is empty but for the schema's own rows. */
export async function assertTargetEmpty(
  target: Store,
  schema: StateTables,
  existing?: ReadonlySet<string>,
): Promise<void> {
  for (const table of schema.tables) {
    if (schema.seeded.has(table) || (existing !== undefined && !existing.has(table))) continue;
    if (await hasRows(target, table))
      throw new CliError(
        `the target is not empty: table ${table} holds rows. state migrate only moves into a new, empty database (nothing was copied)`,
        EXIT.refused,
      );
  }
}
