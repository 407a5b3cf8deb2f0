/**
 * Opens the state store the config names: the embedded SQLite file under the data directory, or
 * the PostgreSQL database of `state.url`. Everything above this sees one `Store` (a Kysely handle
 * over tables.ts) whichever engine holds it. The store is unlocked here, before anything reads it:
 * with DBWARD_STATE_KEY it carries its data keys (crypto/unlock-state-store.ts), and a store that
 * is encrypted does not open without its key.
 */
import type { StateConfig } from "../config/state-config.ts";
import { stateCredentials } from "../config/state-config.ts";
import { kekFromEnvironment } from "../crypto/key-encryption-key.ts";
import { unlockStateStore } from "../crypto/unlock-state-store.ts";
import { openStore, type Store } from "./open-store.ts";
import { PostgresAdapter } from "kysely";

export type StoreEngine = "sqlite" | "postgres";

export interface OpenStateStoreOptions {
  readonly dataDir: string;
  readonly state: StateConfig;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly onIdleError: (err: Error) => void;
  /** When key creation or rotation is recorded (the bot's clock). */
  readonly now?: Date;
}

export async function openStateStore(o: OpenStateStoreOptions): Promise<Store> {
  // A bad key variable is a config error, reported before any connection is made.
  const kek = kekFromEnvironment(o.env);
  const store = await openEngine(o);
  try {
    return await unlockStateStore(store, kek, o.now ?? new Date());
  } catch (err) {
    await store.destroy().catch(() => undefined);
    throw err;
  }
}

async function openEngine(o: OpenStateStoreOptions): Promise<Store> {
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
