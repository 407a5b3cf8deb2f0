/**
 * The agents that have polled: when each was last seen, what it declared it can run and which
 * databases it reported it cannot reach. poll-jobs.ts writes them from already-validated input;
 * the row mapper validates them again on the way out, and a stored value of any other shape
 * reads as none (an agent that declared nothing is offered and allowed nothing: fail closed).
 */
import { OPERATION_CLASSES, type AgentCapability, type DegradedDatabase } from "@dbward/shared";
import type { Kysely, Selectable } from "kysely";
import { z } from "zod";
import type { Tx } from "./in-transaction.ts";
import type { AgentsTable, Database } from "./tables.ts";

type Db = Kysely<Database> | Tx;

export interface AgentRecord {
  readonly id: string;
  readonly lastSeenAt: string;
  readonly capabilities: AgentCapability[];
  readonly degraded: DegradedDatabase[];
}

const capabilityList = z.array(
  z.object({
    database: z.string(),
    environment: z.string(),
    operations: z.array(z.enum(OPERATION_CLASSES)),
  }),
);
const degradedList = z.array(
  z.object({ database: z.string(), environment: z.string(), error: z.string(), since: z.string() }),
);

/** Records a poll: the agent was seen at `now` and declares these capabilities and degraded databases. */
export async function saveAgentPoll(
  db: Db,
  agentId: string,
  now: string,
  capabilities: readonly AgentCapability[],
  degraded: readonly DegradedDatabase[],
): Promise<void> {
  const capabilities_json = JSON.stringify(capabilities);
  const degraded_json = degraded.length === 0 ? null : JSON.stringify(degraded);
  await db
    .insertInto("agents")
    .values({ id: agentId, last_seen_at: now, capabilities_json, degraded_json })
    .onConflict((oc) => oc.column("id").doUpdateSet({ last_seen_at: now, capabilities_json, degraded_json }))
    .execute();
}

/** What the agent declared at its last poll; none for an agent that never polled. */
export async function findAgentCapabilities(db: Db, agentId: string): Promise<AgentCapability[]> {
  const row = await db
    .selectFrom("agents")
    .select("capabilities_json")
    .where("id", "=", agentId)
    .executeTakeFirst();
  return row === undefined ? [] : parseStored(capabilityList, row.capabilities_json);
}

/** Every agent that has ever polled, in id order. */
export async function listAgentRecords(db: Db): Promise<AgentRecord[]> {
  const rows = await db.selectFrom("agents").selectAll().orderBy("id").execute();
  return rows.map(toAgentRecord);
}

function toAgentRecord(r: Selectable<AgentsTable>): AgentRecord {
  return {
    id: r.id,
    lastSeenAt: r.last_seen_at,
    capabilities: parseStored(capabilityList, r.capabilities_json),
    degraded: r.degraded_json === null ? [] : parseStored(degradedList, r.degraded_json),
  };
}

function parseStored<T>(schema: z.ZodType<T[]>, json: string): T[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return [];
  }
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : [];
}
