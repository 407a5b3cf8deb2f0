/**
 * Reads a database's schema context (postgres-schema.ts, mysql-schema.ts) on pools of its own,
 * opened on first use, so a collection never holds a connection a job or a plan is waiting for.
 * SQLite databases have none to give (a file beside the agent: nothing a reviewer needs sizes
 * for), and answer undefined.
 */
import type { Logger } from "pino";
import type { DatabaseConfig } from "../config.ts";
import { createLazyPools } from "../drivers/lazy-pools.ts";
import type { CollectedSchema, CollectOptions } from "./collected-schema.ts";
import { collectMysqlSchema } from "./mysql-schema.ts";
import { collectPostgresSchema } from "./postgres-schema.ts";

export interface SchemaCollector {
  /** The database's tables, or undefined for a driver that has no schema context. */
  collect(db: DatabaseConfig): Promise<CollectedSchema | undefined>;
  closeAll(): Promise<void>;
}

export function createSchemaCollector(logger: Logger, options: CollectOptions = {}): SchemaCollector {
  const pools = createLazyPools(logger, "schema");
  return {
    async collect(db) {
      switch (db.driver) {
        case "postgres":
          return collectPostgresSchema(pools.postgres(db), options);
        case "mysql":
          return collectMysqlSchema(pools.mysql(db), options);
        case "sqlite":
          return undefined;
      }
    },
    closeAll: () => pools.closeAll(),
  };
}
