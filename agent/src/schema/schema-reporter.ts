/**
 * When the agent collects and sends each database's schema context (POST /api/agent/schema):
 * at the first answered poll, every `schema_interval` after, and at once after a DDL this agent
 * ran there. Collections run in the background on their own pools (schema-collector.ts): a job
 * never waits for one. One collection at a time per database; a refresh asked for while one
 * runs is made when it ends (the DDL may have come after its catalogue read).
 *
 * Nothing here ends the agent: a collection or a report that fails is logged and tried again
 * after RETRY_MS (or the interval, if shorter); a degraded database is skipped until it is back.
 * A bot without the route (404: older than schema reports) is logged once, and the schedule goes
 * on at its interval, so a later bot gets reports without a restart.
 */
import { SCHEMA_TABLE_LIMITS, type SchemaReportBody, type SchemaTable } from "@dbward/shared";
import type { Logger } from "pino";
import { BotError, type BotClient } from "../bot-client.ts";
import type { Clock } from "../clock.ts";
import type { AgentConfig, DatabaseConfig } from "../config.ts";
import { describeError } from "../log.ts";
import type { CollectedSchema } from "./collected-schema.ts";
import type { SchemaCollector } from "./schema-collector.ts";

/** How soon a failed collection or report is tried again. */
export const RETRY_MS = 5 * 60_000;

/**
 * What this agent sends at most in one schema report (the bot takes up to 4 MB): half the bot's
 * limit, so a report always fits with room to spare; the smallest tables are dropped past it.
 */
export const SCHEMA_REPORT_MAX_BYTES = 2 * 1024 * 1024 - 16 * 1024;

export interface SchemaReporter {
  /** After an answered poll: starts the collections that are due, without waiting for them. */
  tick(): void;
  /** After a DDL this agent ran on a database: collects it again now, or when the running one ends. */
  refresh(database: string, environment: string): void;
  /** Waits for the running collections (none starts after) and closes their pools. */
  stop(): Promise<void>;
}

export interface SchemaReporterDeps {
  readonly config: AgentConfig;
  readonly client: Pick<BotClient, "reportSchema">;
  readonly collector: SchemaCollector;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly isDegraded: (db: DatabaseConfig) => boolean;
}

interface DatabaseState {
  readonly db: DatabaseConfig;
  /** Epoch ms from which the next collection is due. */
  nextAt: number;
  running: Promise<void> | undefined;
  again: boolean;
}

/** The databases with a schema context to report: not opted out, not SQLite. */
function reported(config: AgentConfig): DatabaseConfig[] {
  return config.databases.filter((d) => d.schema !== false && d.driver !== "sqlite");
}

export function createSchemaReporter(deps: SchemaReporterDeps): SchemaReporter {
  const states = reported(deps.config).map((db): DatabaseState => ({
    db,
    nextAt: 0,
    running: undefined,
    again: false,
  }));
  let stopped = false;
  let routeMissingLogged = false;
  const retryMs = Math.min(RETRY_MS, deps.config.schemaIntervalMs);

  const start = (state: DatabaseState): void => {
    if (stopped || state.running !== undefined || deps.isDegraded(state.db)) return;
    state.again = false;
    state.running = collectAndReport(state).finally(() => {
      state.running = undefined;
      if (state.again) start(state);
    });
  };

  /** Never rejects: every failure is logged and sets when to try again. */
  const collectAndReport = async (state: DatabaseState): Promise<void> => {
    const { db } = state;
    const facts = { database: db.name, environment: db.environment };
    const now = (): number => deps.clock.now().getTime();
    let collected: CollectedSchema | undefined;
    const collectedAt = deps.clock.now().toISOString();
    try {
      collected = await deps.collector.collect(db);
    } catch (err) {
      state.nextAt = now() + retryMs;
      deps.logger.warn(
        { ...facts, err: describeError(err), retry_in_ms: retryMs },
        "could not read the database's schema; trying again later",
      );
      return;
    }
    if (collected === undefined) {
      state.nextAt = Infinity;
      return;
    }
    const body = reportBody(db, collectedAt, collected);
    try {
      await deps.client.reportSchema(body);
    } catch (err) {
      if (err instanceof BotError && err.status === 404) {
        state.nextAt = now() + deps.config.schemaIntervalMs;
        if (!routeMissingLogged)
          deps.logger.warn(
            { ...facts, err: describeError(err) },
            "the bot does not take schema reports (it predates them); approvers see no schema context until it is upgraded",
          );
        routeMissingLogged = true;
        return;
      }
      state.nextAt = now() + retryMs;
      deps.logger.warn(
        { ...facts, err: describeError(err), retry_in_ms: retryMs },
        "the bot did not take the schema report; trying again later",
      );
      return;
    }
    routeMissingLogged = false;
    state.nextAt = now() + deps.config.schemaIntervalMs;
    deps.logger.info(
      { ...facts, tables: body.tables.length, truncated: body.truncated },
      "schema context reported",
    );
  };

  return {
    tick() {
      const now = deps.clock.now().getTime();
      for (const state of states) if (now >= state.nextAt) start(state);
    },
    refresh(database, environment) {
      const state = states.find((s) => s.db.name === database && s.db.environment === environment);
      if (state === undefined || stopped) return;
      state.nextAt = 0;
      if (state.running !== undefined) state.again = true;
      else start(state);
    },
    async stop() {
      stopped = true;
      await Promise.all(states.map((s) => s.running));
      await deps.collector.closeAll();
    },
  };
}

/** The report of one collection, cut (smallest tables last) to fit the bot's body limit. */
export function reportBody(
  db: DatabaseConfig,
  collectedAt: string,
  collected: CollectedSchema,
  maxBytes = SCHEMA_REPORT_MAX_BYTES,
): SchemaReportBody {
  const tables: SchemaTable[] = [];
  let bytes = 0;
  for (const table of collected.tables.map(bounded)) {
    bytes += Buffer.byteLength(JSON.stringify(table)) + 1;
    if (bytes > maxBytes) break;
    tables.push(table);
  }
  return {
    database: db.name,
    environment: db.environment,
    collected_at: collectedAt,
    tables,
    truncated: collected.truncated || tables.length < collected.tables.length,
  };
}

/**
 * The bot refuses a whole report over its bounds on one table (an index expression over 1,024
 * characters, more than 256 indexes), so each table is cut to them here rather than lose them all.
 */
function bounded(table: SchemaTable): SchemaTable {
  const L = SCHEMA_TABLE_LIMITS;
  return {
    ...table,
    columns: table.columns.slice(0, L.columns).map((c) => ({ ...c, type: c.type.slice(0, L.name) })),
    primary_key: table.primary_key.slice(0, L.keyColumns),
    foreign_keys: table.foreign_keys.slice(0, L.foreignKeys).map((fk) => ({
      ...fk,
      columns: fk.columns.slice(0, L.keyColumns),
      references: { ...fk.references, columns: fk.references.columns.slice(0, L.keyColumns) },
    })),
    indexes: table.indexes.slice(0, L.indexes).map((i) => ({
      ...i,
      columns: i.columns.slice(0, L.keyColumns).map((c) => c.slice(0, L.indexColumn)),
    })),
  };
}
