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

export async function saveSchemaContext(tx: Tx, c: SchemaContextRecord): Promise<void> {
  const row = {
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

export async function findSchemaContext(
  db: Db,
  database: string,
  environment: string,
): Promise<SchemaContextRecord | undefined> {
  const row = await db
    .selectFrom("schema_contexts")
    .selectAll()
    .where("database_name", "=", database)
    .where("environment", "=", environment)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  let tables: unknown;
  try {
    tables = JSON.parse(row.tables_json);
  } catch {
    return undefined;
  }
  const parsed = schemaTables.safeParse(tables);
  if (!parsed.success) return undefined;
  return {
    database: row.database_name,
    environment: row.environment,
    agentId: row.agent_id,
    collectedAt: row.collected_at,
    receivedAt: row.received_at,
    truncated: row.truncated === 1,
    tables: parsed.data,
  };
}
