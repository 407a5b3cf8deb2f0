/**
 * What a schema collector (postgres-schema.ts, mysql-schema.ts) answers, and the limits every
 * collection runs under.
 */
import type { SchemaTable } from "@dbward/shared";

/** A catalogue query that takes longer than this is cancelled: the catalogue is small and quick. */
export const SCHEMA_TIMEOUT_MS = 10_000;

export interface CollectOptions {
  /** The most tables to return, largest first (MAX_SCHEMA_TABLES; tests make it small). */
  readonly maxTables?: number;
  readonly statementTimeoutMs?: number;
}

export interface CollectedSchema {
  /** Largest first. */
  readonly tables: SchemaTable[];
  /** The database has more tables than `tables` holds. */
  readonly truncated: boolean;
}
