/** Whether the state store has a table yet, on either engine (a fresh store has none). */
import { storeEngine } from "@dbward/bot/store/open-state-store";
import type { Store } from "@dbward/bot/store/open-store";
import { sql } from "kysely";

export async function hasTable(store: Store, table: string): Promise<boolean> {
  const found =
    storeEngine(store) === "postgres"
      ? await sql<{ present: boolean }>`select to_regclass(${table}) is not null as present`.execute(store)
      : await sql<{
          present: number;
        }>`select count(*) as present from sqlite_master where type = 'table' and name = ${table}`.execute(
          store,
        );
  return Boolean(found.rows[0]?.present);
}
