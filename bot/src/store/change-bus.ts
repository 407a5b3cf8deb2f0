/**
 * Wake-ups between bot instances that share one state store. A wake-up carries no data: it says
 * "look at the store again" (an agent's long poll, the webhook dispatcher), and everything it points at is already committed there. So a lost wake-up only
 * delays: every waiter also re-checks the store on its own timer.
 *
 * On SQLite the bus is this process alone. On PostgreSQL it is LISTEN/NOTIFY: one dedicated
 * connection per instance listens on every channel; `publish` wakes this process's subscribers at
 * once and sends NOTIFY for the others. When the listening connection drops (a PostgreSQL restart,
 * a failover) it reconnects with backoff, and on reconnecting wakes every subscriber once, since
 * notifications sent while it was away are gone.
 */
import type pg from "pg";
import { loadPg } from "./load-pg.ts";

/**
 * `jobs`: a request was dispatched (agents' long polls look again). `changes`: a change committed
 * (the webhook dispatcher and audit maintenance, run by whichever instance leads them, look again).
 * The Slack outbox needs none: every instance drains it under row leases (docs/deployment.md).
 */
export const BUS_CHANNELS = ["jobs", "changes"] as const;
export type BusChannel = (typeof BUS_CHANNELS)[number];

export interface ChangeBus {
  /** Wakes subscribers of `channel` here and on every other instance. Never throws. */
  publish(channel: BusChannel): void;
  subscribe(channel: BusChannel, wake: () => void): void;
  close(): Promise<void>;
}

const PG_CHANNEL: Record<BusChannel, string> = {
  jobs: "dbward_jobs",
  changes: "dbward_changes",
};

class LocalWakeups {
  private readonly subscribers = new Map<BusChannel, (() => void)[]>();

  subscribe(channel: BusChannel, wake: () => void): void {
    this.subscribers.set(channel, [...(this.subscribers.get(channel) ?? []), wake]);
  }

  wake(channel: BusChannel): void {
    for (const w of this.subscribers.get(channel) ?? []) w();
  }

  wakeAll(): void {
    for (const c of BUS_CHANNELS) this.wake(c);
  }
}

/** The bus of a single process (SQLite state). */
export function localBus(): ChangeBus {
  const local = new LocalWakeups();
  return {
    publish: (channel) => local.wake(channel),
    subscribe: (channel, wake) => local.subscribe(channel, wake),
    close: async () => undefined,
  };
}

export interface PostgresBusOptions {
  readonly url: string;
  readonly password?: string;
  /** Sends NOTIFY: a query on the state store's pool. */
  readonly notify: (pgChannel: string) => Promise<void>;
  /** The listening connection failed, or a NOTIFY could not be sent. */
  readonly onError: (err: unknown, message: string) => void;
  /** Longest wait between reconnection attempts. */
  readonly maxBackoffMs?: number;
}

/** The bus over PostgreSQL LISTEN/NOTIFY; resolves once listening. */
export async function postgresBus(o: PostgresBusOptions): Promise<ChangeBus> {
  const local = new LocalWakeups();
  const byPgChannel = new Map(BUS_CHANNELS.map((c) => [PG_CHANNEL[c], c]));
  let client: pg.Client | undefined;
  let closed = false;
  let backoff = 100;
  let retry: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    const c = new (await loadPg()).Client({
      connectionString: o.url,
      ...(o.password === undefined ? {} : { password: o.password }),
      application_name: "dbward-bot-listen",
      keepAlive: true,
    });
    c.on("notification", (n) => {
      const channel = byPgChannel.get(n.channel);
      if (channel !== undefined) local.wake(channel);
    });
    c.on("error", (err) => {
      if (!closed) o.onError(err, "the state store's listening connection failed; reconnecting");
      lost(c);
    });
    c.on("end", () => lost(c));
    try {
      await c.connect();
      for (const name of byPgChannel.keys()) await c.query(`listen ${name}`);
    } catch (err) {
      // A connection that never got to listen is of no use: close it, or every retry leaks one.
      await c.end().catch(() => undefined);
      throw err;
    }
    if (closed) {
      // close() ran while this connected: nothing will end it but this.
      await c.end().catch(() => undefined);
      return;
    }
    client = c;
    backoff = 100;
  };
  /** The connect in flight, which close() waits for. */
  let connecting: Promise<void> | undefined;

  const lost = (c: pg.Client): void => {
    if (client !== c) return;
    client = undefined;
    c.end().catch(() => undefined);
    schedule();
  };

  const schedule = (): void => {
    if (closed || retry !== undefined) return;
    retry = setTimeout(() => {
      retry = undefined;
      connecting = connect()
        .then(
          () => {
            if (!closed) local.wakeAll();
          },
          (err: unknown) => {
            if (closed) return;
            o.onError(err, "could not reconnect the state store's listening connection");
            backoff = Math.min(backoff * 2, o.maxBackoffMs ?? 5000);
            schedule();
          },
        )
        .finally(() => (connecting = undefined));
    }, backoff);
    retry.unref();
  };

  await connect();
  return {
    publish(channel) {
      local.wake(channel);
      o.notify(PG_CHANNEL[channel]).catch((err: unknown) =>
        o.onError(
          err,
          `could not notify other instances (${channel}); they find the change on their next check`,
        ),
      );
    },
    subscribe: (channel, wake) => local.subscribe(channel, wake),
    async close() {
      closed = true;
      if (retry !== undefined) clearTimeout(retry);
      await connecting;
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}
