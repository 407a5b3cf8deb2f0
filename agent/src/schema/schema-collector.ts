/**
 * Reads a database's schema context (postgres-schema.ts, mysql-schema.ts) on pools of its own,
 * opened on first use, so a collection never holds a connection a job or a plan is waiting for.
 * SQLite databases have none to give (a file beside the agent: nothing a reviewer needs sizes
 * for), and answer undefined.
 */
import type mysql from "mysql2";
import type pg from "pg";
import type { Logger } from "pino";
import type { DatabaseConfig } from "../config.ts";
import { createMysqlPool } from "../drivers/mysql.ts";
import { createPostgresPool } from "../drivers/postgres.ts";
import { describeError } from "../log.ts";
import type { CollectedSchema, CollectOptions } from "./collected-schema.ts";
import { collectMysqlSchema } from "./mysql-schema.ts";
import { collectPostgresSchema } from "./postgres-schema.ts";

export interface SchemaCollector {
  /** The database's tables, or undefined for a driver that has no schema context. */
  collect(db: DatabaseConfig): Promise<CollectedSchema | undefined>;
  closeAll(): Promise<void>;
}

export function createSchemaCollector(logger: Logger, options: CollectOptions = {}): SchemaCollector {
  const pgPools = new Map<DatabaseConfig, pg.Pool>();
  const myPools = new Map<DatabaseConfig, mysql.Pool>();
  // An idle pooled connection that breaks emits an error; without a listener it ends the process.
  // The pool drops it and opens another next time, so a log line is all.
  const idleError = (db: DatabaseConfig) => (err: Error) =>
    logger.warn(
      { err: describeError(err), database: db.name, environment: db.environment },
      "a schema connection broke while idle",
    );
  const pgPool = (db: DatabaseConfig): pg.Pool => {
    let pool = pgPools.get(db);
    if (pool === undefined) {
      pool = createPostgresPool(db);
      pool.on("error", idleError(db));
      pgPools.set(db, pool);
    }
    return pool;
  };
  const myPool = (db: DatabaseConfig): mysql.Pool => {
    let pool = myPools.get(db);
    if (pool === undefined) {
      pool = createMysqlPool(db);
      pool.on("connection", (conn) => conn.on("error", idleError(db)));
      myPools.set(db, pool);
    }
    return pool;
  };
  return {
    async collect(db) {
      switch (db.driver) {
        case "postgres":
          return collectPostgresSchema(pgPool(db), options);
        case "mysql":
          return collectMysqlSchema(myPool(db), options);
        case "sqlite":
          return undefined;
      }
    },
    async closeAll() {
      await Promise.all([
        ...[...pgPools.values()].map((p) => p.end()),
        ...[...myPools.values()].map((p) => p.end()),
      ]);
    },
  };
}
