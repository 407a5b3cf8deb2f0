/**
 * Which bot instance runs each periodic job (the sweeper with its reminders and escalations, the
 * webhook dispatcher, audit checkpoints and retention, pruning), when several share one state
 * store. Leadership is for economy, not for safety: every job writes through compare-and-set
 * transactions, leases and unique keys, so two instances running one job for a moment (a
 * hand-over) do the work twice at worst, never wrongly. What leadership prevents is every
 * instance doing every job all the time — three sweeps a second, webhook routing racing itself.
 *
 * On SQLite this process is the only one and leads everything from the start. On PostgreSQL each
 * job is a session-level advisory lock (postgres-locks.ts) held on one connection of its own: the
 * holder runs the job; the others try again every `checkMs`. The holder checks its connection on
 * the same beat; if it fails it stops its jobs at once, and the server releases the locks when it
 * ends the session — so when a holder dies (kill -9, a lost machine) another instance takes over
 * within a few checks. The session's TCP keepalives are short so a holder cut off by the network
 * loses its locks in seconds, not in the kernel's two hours.
 */
import type pg from "pg";
import { loadPg } from "./load-pg.ts";
import { LEADER_LOCKS, type LeaderJobName } from "./postgres-locks.ts";

export type { LeaderJobName } from "./postgres-locks.ts";

/** A job run only while this instance leads it: `start` when it gains the lead, `stop` when it loses it. */
export interface LeaderJob {
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

export interface Leadership {
  /**
   * Registers a job; it starts once (and whenever) this instance holds its lock. Resolves after
   * the first try: the job has started if this instance got the lock.
   */
  run(name: LeaderJobName, job: LeaderJob): Promise<void>;
  /** The jobs this instance leads now (metrics, /ready). */
  leading(): readonly LeaderJobName[];
  /** Stops every job this instance leads and lets the locks go. */
  close(): Promise<void>;
}

/** One process on one SQLite file: it leads every job. */
export function soloLeadership(onError: (err: unknown, message: string) => void): Leadership {
  const jobs = new Map<LeaderJobName, LeaderJob>();
  return {
    // A job that cannot start fails the bot's start, as it did before leadership: with no other
    // instance to take it over, a bot without its sweeper or webhooks must not look healthy.
    async run(name, job) {
      await job.start();
      jobs.set(name, job);
    },
    leading: () => [...jobs.keys()],
    async close() {
      for (const [name, job] of jobs)
        await Promise.resolve(job.stop()).catch((err: unknown) => onError(err, `could not stop ${name}`));
      jobs.clear();
    },
  };
}

export interface PostgresLeadershipOptions {
  readonly url: string;
  readonly password?: string;
  readonly onError: (err: unknown, message: string) => void;
  /** Told when this instance gains or loses a job's lead. */
  readonly onChange?: (name: LeaderJobName, leading: boolean) => void;
  /** How often locks are tried and the connection checked. */
  readonly checkMs?: number;
}

export function postgresLeadership(o: PostgresLeadershipOptions): Leadership {
  const checkMs = o.checkMs ?? 1000;
  const jobs = new Map<LeaderJobName, LeaderJob>();
  const held = new Set<LeaderJobName>();
  let client: pg.Client | undefined;
  let closed = false;
  let ticking: Promise<void> | undefined;

  /**
   * Each job's starts and stops run one after another: a connection lost while a job is still
   * starting stops it once the start is done, instead of racing it and leaving it running
   * without the lead.
   */
  const transitions = new Map<LeaderJobName, Promise<void>>();
  const inTurn = (name: LeaderJobName, step: () => Promise<void>): Promise<void> => {
    const next = (transitions.get(name) ?? Promise.resolve()).then(step);
    transitions.set(name, next);
    return next;
  };

  const stopJob = async (name: LeaderJobName): Promise<void> => {
    if (!held.delete(name)) return;
    o.onChange?.(name, false);
    await inTurn(name, async () => {
      await Promise.resolve(jobs.get(name)?.stop()).catch((err: unknown) =>
        o.onError(err, `could not stop ${name}`),
      );
    });
  };

  /** Starts a job whose lock this instance just took; false when it failed to start. */
  const startJob = (name: LeaderJobName): Promise<boolean> => {
    let started = true;
    return inTurn(name, async () => {
      try {
        await jobs.get(name)?.start();
      } catch (err) {
        started = false;
        o.onError(err, `could not start ${name}; its lead is let go and tried again`);
      }
    }).then(() => started);
  };

  const dropConnection = async (): Promise<void> => {
    const c = client;
    client = undefined;
    // Stop first: once the session is gone another instance may start the job.
    for (const name of [...held]) await stopJob(name);
    await c?.end().catch(() => undefined);
  };

  const connect = async (): Promise<pg.Client> => {
    const c = new (await loadPg()).Client({
      connectionString: o.url,
      ...(o.password === undefined ? {} : { password: o.password }),
      application_name: "dbward-bot-leader",
      keepAlive: true,
      keepAliveInitialDelayMillis: 5000,
      query_timeout: Math.max(5000, checkMs * 5),
    });
    c.on("error", (err) => {
      o.onError(err, "the leadership connection failed; this instance stops leading");
      if (client === c) void dropConnection();
    });
    await c.connect();
    // The server ends a session whose peer went silent within ~20 s, releasing its locks.
    await c.query(
      "set tcp_keepalives_idle = 5; set tcp_keepalives_interval = 5; set tcp_keepalives_count = 3",
    );
    return c;
  };

  const tick = async (): Promise<void> => {
    try {
      client ??= await connect();
      const c = client;
      if (held.size > 0) await c.query("select 1");
      for (const [name] of jobs) {
        if (held.has(name) || closed) continue;
        const r = await c.query<{ ok: boolean }>("select pg_try_advisory_lock($1) as ok", [
          LEADER_LOCKS[name],
        ]);
        if (r.rows[0]?.ok !== true || client !== c) continue;
        held.add(name);
        o.onChange?.(name, true);
        if (!(await startJob(name)) && held.delete(name)) {
          // Holding the lock of a job that is not running would keep every instance from running
          // it: let it go, so the next check (here or on another instance) tries again.
          o.onChange?.(name, false);
          await c.query("select pg_advisory_unlock($1)", [LEADER_LOCKS[name]]);
        }
      }
    } catch (err) {
      o.onError(err, "leadership check failed; this instance stops leading until it reconnects");
      await dropConnection();
    }
  };

  const timer = setInterval(() => {
    if (ticking === undefined && !closed) ticking = tick().finally(() => (ticking = undefined));
  }, checkMs);
  timer.unref();

  return {
    async run(name, job) {
      jobs.set(name, job);
      await ticking;
      ticking = tick().finally(() => (ticking = undefined));
      await ticking;
    },
    leading: () => [...held],
    async close() {
      closed = true;
      clearInterval(timer);
      await ticking;
      await dropConnection();
    },
  };
}
