/**
 * Preflights in the store (schema.sql `preflights`): created with their request, claimed by one
 * agent (compare-and-set on `pending`), finished once (compare-and-set on `running` and the
 * claiming agent). The stored summary is validated on the way out; a summary of another shape
 * reads as none, and the view says the plan could not be read.
 */
import {
  PREFLIGHT_KINDS,
  type AgentCapability,
  type PlanSummary,
  type PreflightKind,
  type RequestId,
} from "@dbward/shared";
import type { Kysely } from "kysely";
import { z } from "zod";
import type { Tx } from "./in-transaction.ts";
import type { Database, PreflightsTable } from "./tables.ts";
import { openNullable, openValue, placeOf, sealNullable } from "../crypto/state-cipher.ts";

type Db = Kysely<Database> | Tx;

export const PREFLIGHT_STATUSES = ["pending", "running", "succeeded", "failed"] as const;
export type PreflightStatus = (typeof PREFLIGHT_STATUSES)[number];

export interface PreflightRecord {
  readonly id: string;
  readonly requestId: RequestId;
  readonly kind: PreflightKind;
  readonly status: PreflightStatus;
  readonly agentId: string | null;
  readonly createdAt: string;
  readonly leaseExpiresAt: string | null;
  readonly finishedAt: string | null;
  readonly durationMs: number | null;
  readonly summary: PlanSummary | null;
  /** A succeeded dry run's count of changed rows (rolled back). */
  readonly affectedRows: number | null;
  readonly error: { readonly code: string; readonly message: string } | null;
}

/** The rows a request's dry run changed before it was rolled back, when it counted them. */
export function dryRunCountOf(preflights: readonly PreflightRecord[]): number | undefined {
  const dry = preflights.find((p) => p.kind === "dry_run");
  return dry?.status === "succeeded" ? (dry.affectedRows ?? undefined) : undefined;
}

/** The handle an agent claims a preflight with. */
export function preflightId(requestId: RequestId, kind: PreflightKind): string {
  return `${requestId}-${kind}`;
}

export async function insertPreflight(
  tx: Tx,
  requestId: RequestId,
  kind: PreflightKind,
  now: string,
): Promise<void> {
  await tx
    .insertInto("preflights")
    .values({
      id: preflightId(requestId, kind),
      request_id: requestId,
      kind,
      status: "pending",
      created_at: now,
    })
    .execute();
}

export async function findPreflight(db: Db, id: string): Promise<PreflightRecord | undefined> {
  const row = await db.selectFrom("preflights").selectAll().where("id", "=", id).executeTakeFirst();
  return row === undefined ? undefined : toRecord(db, row);
}

export async function listPreflights(db: Db, requestId: RequestId): Promise<PreflightRecord[]> {
  const rows = await db
    .selectFrom("preflights")
    .selectAll()
    .where("request_id", "=", requestId)
    .orderBy("id")
    .execute();
  return rows.map((r) => toRecord(db, r));
}

/**
 * Pending preflights of the `kinds` an agent makes, of requests still waiting for approval that
 * an agent with `caps` may make, oldest first: chosen inside its kinds and capabilities before
 * the limit, so preflights no agent of this kind makes cannot push its own out.
 */
export async function listOfferablePreflights(
  db: Db,
  caps: readonly AgentCapability[],
  kinds: readonly PreflightKind[],
  limit: number,
): Promise<PreflightOfferRow[]> {
  const usable = caps.filter((c) => c.operations.length > 0);
  if (usable.length === 0 || kinds.length === 0) return [];
  return db
    .selectFrom("preflights")
    .innerJoin("requests", "requests.id", "preflights.request_id")
    .select([
      "preflights.id as id",
      "preflights.request_id as requestId",
      "preflights.kind as kind",
      "requests.database_name as database",
      "requests.environment as environment",
      "requests.operation as operation",
    ])
    .where("preflights.status", "=", "pending")
    .where("preflights.kind", "in", [...kinds])
    .where("requests.status", "=", "pending_approval")
    .where((eb) =>
      eb.or(
        usable.map((c) =>
          eb.and([
            eb("requests.database_name", "=", c.database),
            eb("requests.environment", "=", c.environment),
            eb("requests.operation", "in", [...c.operations]),
          ]),
        ),
      ),
    )
    .orderBy("preflights.created_at")
    .limit(limit)
    .execute();
}

export interface PreflightOfferRow {
  readonly id: string;
  readonly requestId: number;
  readonly kind: string;
  readonly database: string;
  readonly environment: string;
  readonly operation: string;
}

/** Compare-and-set pending → running for `agentId`; false when someone else got there first. */
export async function claimPreflightRow(
  tx: Tx,
  id: string,
  claim: { agentId: string; tokenId: string; claimedAt: string; leaseExpiresAt: string },
): Promise<boolean> {
  const result = await tx
    .updateTable("preflights")
    .set({
      status: "running",
      agent_id: claim.agentId,
      token_id: claim.tokenId,
      claimed_at: claim.claimedAt,
      lease_expires_at: claim.leaseExpiresAt,
    })
    .where("id", "=", id)
    .where("status", "=", "pending")
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** Compare-and-set running → done, only for the agent that claimed it. */
export async function finishPreflightRow(
  tx: Tx,
  id: string,
  agentId: string,
  done: {
    status: "succeeded" | "failed";
    finishedAt: string;
    durationMs: number | null;
    summary?: PlanSummary;
    planJson?: string;
    affectedRows?: number;
    error?: { code: string; message: string };
  },
): Promise<boolean> {
  const result = await tx
    .updateTable("preflights")
    .set({
      status: done.status,
      finished_at: done.finishedAt,
      duration_ms: done.durationMs,
      summary_json: done.summary === undefined ? null : JSON.stringify(done.summary),
      plan_json: await sealNullable(tx, placeOf("preflights", "plan_json", id), done.planJson ?? null),
      affected_rows: done.affectedRows ?? null,
      error_code: done.error?.code ?? null,
      error_message: await sealNullable(
        tx,
        placeOf("preflights", "error_message", id),
        done.error?.message ?? null,
      ),
    })
    .where("id", "=", id)
    .where("status", "=", "running")
    .where("agent_id", "=", agentId)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** Running preflights whose lease ran out at or before `now`. */
export async function listLapsedPreflights(db: Db, now: string): Promise<PreflightRecord[]> {
  const rows = await db
    .selectFrom("preflights")
    .selectAll()
    .where("status", "=", "running")
    .where("lease_expires_at", "<=", now)
    .execute();
  return rows.map((r) => toRecord(db, r));
}

/**
 * Deletes the raw plans of preflights finished at or before `cutoff`, keeping their summaries
 * (results retention applies to plans too: they can quote the statement's values). How many.
 */
export async function purgePlansFinishedBy(tx: Tx, cutoff: string): Promise<number> {
  const result = await tx
    .updateTable("preflights")
    .set({ plan_json: null })
    .where("plan_json", "is not", null)
    .where("finished_at", "<=", cutoff)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** The stored plan as EXPLAIN returned it, or undefined when there is none. */
export async function findPlanJson(db: Db, id: string): Promise<string | undefined> {
  const row = await db.selectFrom("preflights").select("plan_json").where("id", "=", id).executeTakeFirst();
  return row?.plan_json == null
    ? undefined
    : openValue(db, placeOf("preflights", "plan_json", id), row.plan_json);
}

const summarySchema = z.object({
  engine: z.enum(["postgres", "mysql"]),
  estimated_rows: z.number().nullable(),
  total_cost: z.number().nullable(),
  costliest_node: z
    .object({ node_type: z.string(), relation: z.string().nullable(), cost: z.number() })
    .nullable(),
  sequential_scans: z.array(
    z.object({ scan: z.string(), relation: z.string().nullable(), estimated_rows: z.number().nullable() }),
  ),
  truncated: z.boolean(),
});

function toRecord(db: Db, r: PreflightsTable): PreflightRecord {
  const kind = PREFLIGHT_KINDS.find((k) => k === r.kind);
  const status = PREFLIGHT_STATUSES.find((s) => s === r.status);
  if (kind === undefined || status === undefined)
    throw new Error(`preflight ${r.id} has an unknown kind or status in the store`);
  const summary = r.summary_json === null ? null : parseSummary(r.summary_json);
  const unreadable = r.summary_json !== null && summary === null;
  return {
    id: r.id,
    requestId: r.request_id as RequestId,
    kind,
    status,
    agentId: r.agent_id,
    createdAt: r.created_at,
    leaseExpiresAt: r.lease_expires_at,
    finishedAt: r.finished_at,
    durationMs: r.duration_ms,
    summary,
    affectedRows: r.affected_rows,
    error: unreadable
      ? { code: "preflight.unreadable", message: "the stored plan summary could not be read" }
      : r.error_code === null
        ? null
        : {
            code: r.error_code,
            message: openNullable(db, placeOf("preflights", "error_message", r.id), r.error_message) ?? "",
          },
  };
}

function parseSummary(json: string): PlanSummary | null {
  try {
    const parsed = summarySchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
