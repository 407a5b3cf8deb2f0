/**
 * The timed nudges about pending requests (schema.sql `request_nudges`) and the escalation of a
 * waiting step, which widens the request's workflow snapshot. Each write is a compare-and-set, so
 * two sweeps of the same moment (a restart, a second instance) act once.
 */
import { isDeepStrictEqual } from "node:util";
import type { Kysely } from "kysely";
import type { RequestId } from "@dbward/shared";
import type { WorkflowSnapshot } from "../core/workflow.ts";
import type { Tx } from "./in-transaction.ts";
import { parseStoredWorkflow } from "./stored-request-json.ts";
import type { Database } from "./tables.ts";

type Db = Kysely<Database> | Tx;

export interface Nudge {
  readonly requestId: RequestId;
  readonly kind: "reminder" | "expiry";
  readonly step: number;
  readonly round: number;
}

/** Records the nudge; false when it was already recorded (nothing more to do). */
export async function insertNudge(tx: Tx, n: Nudge, now: Date): Promise<boolean> {
  const r = await tx
    .insertInto("request_nudges")
    .values({
      request_id: n.requestId,
      kind: n.kind,
      step: n.step,
      round: n.round,
      created_at: now.toISOString(),
    })
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  return (r.numInsertedOrUpdatedRows ?? 0n) === 1n;
}

/** Whether any nudge of `kind` for `step` at `round` or later is recorded. */
export async function hasNudgeSince(db: Db, n: Nudge): Promise<boolean> {
  const row = await db
    .selectFrom("request_nudges")
    .select("round")
    .where("request_id", "=", n.requestId)
    .where("kind", "=", n.kind)
    .where("step", "=", n.step)
    .where("round", ">=", n.round)
    .executeTakeFirst();
  return row !== undefined;
}

/** The newest reminder recorded for the request: its step and interval. */
export async function latestReminder(
  db: Db,
  requestId: RequestId,
): Promise<{ readonly step: number; readonly round: number } | undefined> {
  const row = await db
    .selectFrom("request_nudges")
    .select(["step", "round"])
    .where("request_id", "=", requestId)
    .where("kind", "=", "reminder")
    .orderBy("step", "desc")
    .orderBy("round", "desc")
    .executeTakeFirst();
  return row;
}

/**
 * Stores the widened snapshot, only if the stored one is still `from` (state re-checked inside
 * the write transaction); false when something else changed it first.
 */
export async function casWorkflow(
  tx: Tx,
  id: RequestId,
  from: WorkflowSnapshot,
  to: WorkflowSnapshot,
  now: Date,
): Promise<boolean> {
  // Compared as values, not as text: the stored text's key order is whatever wrote it (the row
  // mapper returns the schema's order), so text equality would miss a snapshot that is the same.
  const stored = await tx
    .selectFrom("requests")
    .select(["workflow_json", "status"])
    .where("id", "=", id)
    .executeTakeFirst();
  if (stored?.status !== "pending_approval") return false;
  if (!isDeepStrictEqual(parseStoredWorkflow(String(id), stored.workflow_json), from)) return false;
  const r = await tx
    .updateTable("requests")
    .set({ workflow_json: JSON.stringify(to), updated_at: now.toISOString() })
    .where("id", "=", id)
    .where("status", "=", "pending_approval")
    .where("workflow_json", "=", stored.workflow_json)
    .executeTakeFirst();
  return r.numUpdatedRows === 1n;
}

/** Holds back the reminders to `userId` about the request until `until`. */
export async function saveSnooze(tx: Tx, requestId: RequestId, userId: string, until: Date): Promise<void> {
  await tx
    .insertInto("reminder_snoozes")
    .values({ request_id: requestId, user_id: userId, until: until.toISOString() })
    .onConflict((oc) => oc.columns(["request_id", "user_id"]).doUpdateSet({ until: until.toISOString() }))
    .execute();
}

/** The people who snoozed the request's reminders past `now`. */
export async function snoozedAt(db: Db, requestId: RequestId, now: Date): Promise<ReadonlySet<string>> {
  const rows = await db
    .selectFrom("reminder_snoozes")
    .select("user_id")
    .where("request_id", "=", requestId)
    .where("until", ">", now.toISOString())
    .execute();
  return new Set(rows.map((r) => r.user_id));
}
