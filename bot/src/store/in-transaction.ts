import type { Transaction } from "kysely";
import type { Store } from "./open-store.ts";
import type { Database } from "./tables.ts";

export type Tx = Transaction<Database>;

/**
 * Runs `work` in one (IMMEDIATE, see open-store.ts) transaction. Everything a state change
 * writes — the compare-and-set, its rows, its audit event — goes through here together.
 */
export function inTransaction<T>(store: Store, work: (tx: Tx) => Promise<T>): Promise<T> {
  return store.transaction().execute(work);
}
