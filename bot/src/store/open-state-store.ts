/**
 * Opens the state store the config names: the embedded SQLite file under the data directory, or
 * the PostgreSQL database of `state.url`. Everything above this sees one `Store` (a Kysely handle
 * over tables.ts) whichever engine holds it.
 */
import type { StateConfig } from "../config/state-config.ts";
import { stateCredentials } from "../config/state-config.ts";
import { openStore, type Store } from "./open-store.ts";
import { PostgresAdapter } from "kysely";

export type StoreEngine = "sqlite" | "postgres";

export interface OpenStateStoreOptions {
  readonly dataDir: string;
  readonly state: StateConfig;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly onIdleError: (err: Error) => void;
}

export async function openStateStore(o: OpenStateStoreOptions): Promise<Store> {
  if (o.state.url === undefined) return openStore(o.dataDir);
  const { openPostgresStore } = await import("./open-postgres-store.ts");
  return openPostgresStore({
    ...stateCredentials(o.state.url, o.env),
    poolSize: o.state.pool_size,
    onIdleError: o.onIdleError,
  });
}

/** Which engine holds `store`: some operations (a file backup, a file result store) are SQLite's alone. */
export function storeEngine(store: Store): StoreEngine {
  return store.getExecutor().adapter instanceof PostgresAdapter ? "postgres" : "sqlite";
}
