/**
 * The latest schema context per database × environment (schema.sql `schema_contexts`): replaced
 * whole by each report. The stored tables are validated on the way out with the same schema the
 * report was checked with (schema-report-shape.ts); a stored value of any other shape reads as
 * no context, so risk and views fall back to knowing nothing rather than trusting it.
 */
import type { SchemaTable } from "@dbward/shared";
import type { Kysely } from "kysely";
import type { Tx } from "./in-transaction.ts";
import { schemaTables } from "./schema-report-shape.ts";
import type { Database } from "./tables.ts";

type Db = Kysely<Database> | Tx;

export interface SchemaContextRecord {
  readonly database: string;
  readonly environment: string;
  readonly agentId: string;
  readonly collectedAt: string;
  readonly receivedAt: string;
  readonly truncated: boolean;
  readonly tables: readonly SchemaTable[];
}

/** Stores a report, replacing the one before; `reportId` is random, what parsed copies are kept by. */
export async function saveSchemaContext(tx: Tx, c: SchemaContextRecord, reportId: string): Promise<void> {
  const row = {
    report_id: reportId,
    agent_id: c.agentId,
    collected_at: c.collectedAt,
    received_at: c.receivedAt,
    truncated: c.truncated ? 1 : 0,
    tables_json: JSON.stringify(c.tables),
  };
  await tx
    .insertInto("schema_contexts")
    .values({ database_name: c.database, environment: c.environment, ...row })
    .onConflict((oc) => oc.columns(["database_name", "environment"]).doUpdateSet(row))
    .execute();
}

/**
 * The parsed tables of the latest report per target, by its random report id: derived from the
 * store, never the only copy (another instance's report has another id, and replaces this). A request view, a
 * redraw or a list reads the context for every request it shows, and a report of 2,000 tables is
 * megabytes of JSON; with this the blob is read and checked once per report, not once per view.
 */
const parsedReports = new Map<
  string,
  { readonly identity: string; readonly tables: readonly SchemaTable[] }
>();

export async function findSchemaContext(
  db: Db,
  database: string,
  environment: string,
): Promise<SchemaContextRecord | undefined> {
  const row = await db
    .selectFrom("schema_contexts")
    .select(["agent_id", "collected_at", "received_at", "truncated", "report_id"])
    .where("database_name", "=", database)
    .where("environment", "=", environment)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  const target = JSON.stringify([database, environment]);
  const identity = row.report_id;
  const cached = parsedReports.get(target);
  const record = (head: typeof row, tables: readonly SchemaTable[]): SchemaContextRecord => ({
    database,
    environment,
    agentId: head.agent_id,
    collectedAt: head.collected_at,
    receivedAt: head.received_at,
    truncated: head.truncated === 1,
    tables,
  });
  if (identity !== null && cached?.identity === identity) return record(row, cached.tables);
  // The whole row again, tables included: if a report replaced it in between, this is the newer one.
  const whole = await db
    .selectFrom("schema_contexts")
    .selectAll()
    .where("database_name", "=", database)
    .where("environment", "=", environment)
    .executeTakeFirst();
  if (whole === undefined) return undefined;
  const tables = parseTables(whole.tables_json);
  if (tables === undefined) return undefined;
  // A row from before report ids has nothing to be kept by: it is parsed each time.
  if (whole.report_id !== null) parsedReports.set(target, { identity: whole.report_id, tables });
  return record(whole, tables);
}

function parseTables(json: string): readonly SchemaTable[] | undefined {
  let tables: unknown;
  try {
    tables = JSON.parse(json);
  } catch {
    return undefined;
  }
  const parsed = schemaTables.safeParse(tables);
  return parsed.success ? parsed.data : undefined;
}
