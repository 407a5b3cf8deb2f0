/**
 * One driver (and so one connection pool) per configured database, created on first use, so an
 * agent with many databases opens connections only to those it actually runs jobs on.
 *
 * The registry is where the errors of idle pooled connections (a backend terminated, a server
 * restarted, a TCP connection cut while no job uses it) leave the drivers: each driver gets a
 * callback for its database, and whoever listens (the database health) hears them with the
 * database they concern, for drivers made now or later.
 */
import type { DatabaseConfig } from "../config.ts";
import type { Driver } from "./driver.ts";
import { createMysqlDriver } from "./mysql.ts";
import { createPostgresDriver } from "./postgres.ts";
import { createSqliteDriver } from "./sqlite.ts";

/**
 * Builds a database's driver. `onIdleError` takes the errors of its idle pooled connections,
 * each an `execution.failed` DbwardError marked as a lost connection.
 */
export type DriverFactory = (db: DatabaseConfig, onIdleError: (err: Error) => void) => Driver;

/** Hears an idle connection of `db`'s driver break. */
export type IdleErrorListener = (db: DatabaseConfig, err: Error) => void;

export interface DriverRegistry {
  /** The driver for `db`, created on the first call. */
  get(db: DatabaseConfig): Driver;
  /** Adds a listener for the idle-connection errors of every driver, made before or after. */
  onIdleError(listener: IdleErrorListener): void;
  /** Closes every driver created so far. */
  closeAll(): Promise<void>;
}

/** The driver named in the database's config. */
export function createDriver(db: DatabaseConfig, onIdleError: (err: Error) => void): Driver {
  switch (db.driver) {
    case "postgres":
      return createPostgresDriver(db, onIdleError);
    case "mysql":
      return createMysqlDriver(db, onIdleError);
    case "sqlite":
      return createSqliteDriver(db);
  }
}

export function createDriverRegistry(factory: DriverFactory): DriverRegistry {
  const drivers = new Map<DatabaseConfig, Driver>();
  const listeners = new Set<IdleErrorListener>();
  const idleErrorOf = (db: DatabaseConfig) => (err: Error) => {
    for (const listener of listeners) listener(db, err);
  };
  return {
    get(db) {
      let driver = drivers.get(db);
      if (driver === undefined) {
        driver = factory(db, idleErrorOf(db));
        drivers.set(db, driver);
      }
      return driver;
    },
    onIdleError(listener) {
      listeners.add(listener);
    },
    async closeAll() {
      const all = [...drivers.values()];
      drivers.clear();
      const results = await Promise.allSettled(all.map((d) => d.close()));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed !== undefined) throw failed.reason;
    },
  };
}
