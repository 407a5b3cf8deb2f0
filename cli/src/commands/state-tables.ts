/**
 * What `dbward state migrate` needs to know of the state's tables, read from schema.sql — the one
 * definition of the store for both engines (store/schema.test.ts keeps store/tables.ts's
 * `Database` equal to it), so a table added there is copied without a list here to forget:
 * - the tables in the order schema.sql creates them, which is a foreign-key-safe order (PostgreSQL
 *   refuses a REFERENCES to a table not created yet, and runs the same file);
 * - the tables schema.sql itself fills when it is applied (its guarded INSERTs), which a fresh
 *   target holds before anything is copied;
 * - the `INTEGER PRIMARY KEY AUTOINCREMENT` columns, whose PostgreSQL identity sequence must be
 *   moved past the copied ids so new rows continue after them.
 */
import { readFileSync } from "node:fs";
import { schemaPath } from "@dbward/bot/store/open-store";

export interface StateTables {
  /** Every table, in creation (foreign-key-safe) order. */
  readonly tables: readonly string[];
  /** Tables the schema fills with its own rows when applied. */
  readonly seeded: ReadonlySet<string>;
  /** Table → its id column that PostgreSQL generates. */
  readonly identities: ReadonlyMap<string, string>;
}

export function readStateTables(schemaText: string = readFileSync(schemaPath(), "utf8")): StateTables {
  const text = schemaText.replace(/--[^\n]*/g, "");
  const tables: string[] = [];
  const identities = new Map<string, string>();
  for (const m of text.matchAll(/CREATE TABLE IF NOT EXISTS (\w+) \(([\s\S]*?)\n\);/g)) {
    const [, table, body] = m;
    if (table === undefined || body === undefined) continue;
    tables.push(table);
    const id = /(\w+) INTEGER PRIMARY KEY AUTOINCREMENT\b/.exec(body);
    if (id?.[1] !== undefined) identities.set(table, id[1]);
  }
  const seeded = new Set([...text.matchAll(/INSERT INTO (\w+)/g)].flatMap((m) => m[1] ?? []));
  if (tables.length === 0) throw new Error("schema.sql names no table: cannot tell what to copy");
  return { tables, seeded, identities };
}
