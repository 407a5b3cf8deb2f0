/**
 * One driver (and so one connection pool) per configured database, created on first use, so an
 * agent with many databases opens connections only to those it actually runs jobs on.
 */
import type { DatabaseConfig } from "../config.ts";
import type { Driver } from "./driver.ts";
import { createMysqlDriver } from "./mysql.ts";
import { createPostgresDriver } from "./postgres.ts";
import { createSqliteDriver } from "./sqlite.ts";

export type DriverFactory = (db: DatabaseConfig) => Driver;

export interface DriverRegistry {
  /** The driver for `db`, created on the first call. */
  get(db: DatabaseConfig): Driver;
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
  return {
    get(db) {
      let driver = drivers.get(db);
      if (driver === undefined) {
        driver = factory(db);
        drivers.set(db, driver);
      }
      return driver;
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
