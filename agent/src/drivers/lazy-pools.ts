/**
 * A pool per database, opened on first use, for work beside executions (plans, dry runs, schema
 * context), so that work never holds a connection an execution waits for. Each pool gets an
 * idle-error listener: an idle pooled connection that breaks emits an error, which without a
 * listener ends the process; the pool drops that connection and opens another next time, so a
 * log line naming `what` the pool is for is all.
 */
import type mysql from "mysql2";
import type pg from "pg";
import type { Logger } from "pino";
import type { DatabaseConfig } from "../config.ts";
import { describeError } from "../log.ts";
import { createMysqlPool } from "./mysql.ts";
import { createPostgresPool } from "./postgres.ts";

export interface LazyPools {
  postgres(db: DatabaseConfig): pg.Pool;
  mysql(db: DatabaseConfig): mysql.Pool;
  closeAll(): Promise<void>;
}

export function createLazyPools(logger: Logger, what: string): LazyPools {
  const pgPools = new Map<DatabaseConfig, pg.Pool>();
  const myPools = new Map<DatabaseConfig, mysql.Pool>();
  const idleError = (db: DatabaseConfig) => (err: Error) =>
    logger.warn(
      { err: describeError(err), database: db.name, environment: db.environment },
      `a ${what} connection broke while idle`,
    );
  return {
    postgres(db) {
      let pool = pgPools.get(db);
      if (pool === undefined) {
        pool = createPostgresPool(db);
        pool.on("error", idleError(db));
        pgPools.set(db, pool);
      }
      return pool;
    },
    mysql(db) {
      let pool = myPools.get(db);
      if (pool === undefined) {
        pool = createMysqlPool(db);
        pool.on("connection", (conn) => conn.on("error", idleError(db)));
        myPools.set(db, pool);
      }
      return pool;
    },
    async closeAll() {
      await Promise.all([
        ...[...pgPools.values()].map((p) => p.end()),
        ...[...myPools.values()].map((p) => p.end()),
      ]);
    },
  };
}
