/**
 * How bot instances sharing one state store coordinate: wake-ups (change-bus.ts) and who runs
 * each periodic job (leadership.ts). SQLite state is one process: a local bus, and it leads
 * everything. PostgreSQL state: LISTEN/NOTIFY and advisory-lock leadership, each on a connection
 * of its own besides the pool.
 */
import { sql } from "kysely";
import type { StateConfig } from "../config/state-config.ts";
import { stateCredentials } from "../config/state-config.ts";
import { localBus, postgresBus, type ChangeBus } from "./change-bus.ts";
import { postgresLeadership, soloLeadership, type LeaderJobName, type Leadership } from "./leadership.ts";
import type { Store } from "./open-store.ts";

export interface Coordination {
  readonly bus: ChangeBus;
  readonly leadership: Leadership;
  close(): Promise<void>;
}

export interface CoordinationOptions {
  readonly store: Store;
  readonly state: StateConfig;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly onError: (err: unknown, message: string) => void;
  readonly onLeaderChange?: (name: LeaderJobName, leading: boolean) => void;
  /** How often leadership is tried and checked (tests shorten it). */
  readonly leaderCheckMs?: number;
}

export async function openCoordination(o: CoordinationOptions): Promise<Coordination> {
  if (o.state.url === undefined) {
    const leadership = soloLeadership(o.onError);
    return { bus: localBus(), leadership, close: () => leadership.close() };
  }
  const credentials = stateCredentials(o.state.url, o.env);
  const bus = await postgresBus({
    ...credentials,
    notify: async (channel) => {
      await sql`select pg_notify(${channel}, '')`.execute(o.store);
    },
    onError: o.onError,
  });
  const leadership = postgresLeadership({
    ...credentials,
    onError: o.onError,
    ...(o.onLeaderChange !== undefined ? { onChange: o.onLeaderChange } : {}),
    ...(o.leaderCheckMs !== undefined ? { checkMs: o.leaderCheckMs } : {}),
  });
  return {
    bus,
    leadership,
    async close() {
      await leadership.close();
      await bus.close();
    },
  };
}
