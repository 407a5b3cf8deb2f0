/**
 * Databases this agent has lost its connection to. A job that fails because its database cannot
 * be reached marks the database degraded, and so does an idle pooled connection that breaks (a
 * backend terminated, a server restarted, a TCP connection cut while no job used it), which the
 * drivers report through the registry: the agent does not go on advertising a database whose
 * connections are dying until a job fails on it. A degraded database is left out of the
 * agent's polls (another agent serving it can take its jobs), reported to the bot in each poll
 * with the database's own error, and probed with `SELECT 1` under backoff until it answers
 * again.
 */
import type { DegradedDatabase } from "@dbward/shared";
import type { Logger } from "pino";
import { createBackoff } from "./backoff.ts";
import type { Clock } from "./clock.ts";
import type { DatabaseConfig } from "./config.ts";
import type { DriverRegistry } from "./drivers/registry.ts";
import { describeError } from "./log.ts";

export interface DatabaseHealth {
  /**
   * Marks the database degraded and starts reconnecting with backoff (once per outage). Called
   * for a job's lost connection, and for every idle-connection error the drivers report.
   */
  lost(db: DatabaseConfig, err: Error): void;
  isDegraded(db: DatabaseConfig): boolean;
  degraded(): DegradedDatabase[];
  /** Ends the probes and waits for them. */
  stop(): Promise<void>;
}

export interface DatabaseHealthOptions {
  readonly drivers: DriverRegistry;
  readonly clock: Clock;
  readonly random: () => number;
  readonly logger: Logger;
  /** Least and most time between two probes. */
  readonly probeBaseMs?: number;
  readonly probeMaxMs?: number;
}

export function createDatabaseHealth(options: DatabaseHealthOptions): DatabaseHealth {
  const outages = new Map<DatabaseConfig, DegradedDatabase>();
  const probes = new Set<Promise<void>>();
  const stopped = new AbortController();

  async function probe(db: DatabaseConfig): Promise<void> {
    const backoff = createBackoff({
      random: options.random,
      baseMs: options.probeBaseMs ?? 1000,
      maxMs: options.probeMaxMs ?? 30_000,
    });
    while (!stopped.signal.aborted) {
      await options.clock.sleep(backoff.next(), stopped.signal);
      if (stopped.signal.aborted) return;
      try {
        await options.drivers
          .get(db)
          .execute("SELECT 1", { operation: "read", statementTimeoutMs: 5000, rowCap: 1 });
        outages.delete(db);
        options.logger.info({ database: db.name, environment: db.environment }, "database reachable again");
        return;
      } catch (err) {
        options.logger.warn(
          { database: db.name, environment: db.environment, err: describeError(err) },
          "database still unreachable",
        );
      }
    }
  }

  const health: DatabaseHealth = {
    lost(db, err) {
      if (outages.has(db) || stopped.signal.aborted) return;
      const since = options.clock.now().toISOString();
      outages.set(db, {
        database: db.name,
        environment: db.environment,
        error: err.message.slice(0, 500),
        since,
      });
      options.logger.error(
        { database: db.name, environment: db.environment, err: describeError(err) },
        "lost the database connection; leaving its jobs to other agents and reconnecting",
      );
      const running = probe(db).finally(() => probes.delete(running));
      probes.add(running);
    },
    isDegraded: (db) => outages.has(db),
    degraded: () => [...outages.values()],
    async stop() {
      stopped.abort();
      await Promise.all([...probes]);
    },
  };
  options.drivers.onIdleError((db, err) => health.lost(db, err));
  return health;
}
