/**
 * The `webhook_deliveries` table: one row per attempt. A row is written as `sending` before the
 * attempt, so an attempt cut short by a crash still shows; the unique (delivery id, attempt) pair
 * means two bot processes on one store never both send the same attempt. A row's
 * `next_attempt_at` is the retry schedule itself: it outlives the process that wrote it, and the
 * next start resumes from it (pending-deliveries.ts).
 */
import type { Kysely } from "kysely";
import type { Database, WebhookDeliveriesTable } from "../store/tables.ts";
import type { SendOutcome } from "./send-webhook.ts";

export interface AttemptKey {
  readonly deliveryId: string;
  readonly webhook: string;
  readonly event: string;
  readonly auditSeq: number;
  readonly requestId: number;
  readonly attempt: number;
}

/** Claims the attempt; undefined when another process already has it. */
export async function startAttempt(
  db: Kysely<Database>,
  k: AttemptKey,
  now: Date,
): Promise<number | undefined> {
  const row = await db
    .insertInto("webhook_deliveries")
    .values({
      delivery_id: k.deliveryId,
      webhook: k.webhook,
      event: k.event,
      audit_seq: k.auditSeq,
      request_id: k.requestId,
      attempt: k.attempt,
      status: "sending",
      started_at: now.toISOString(),
    })
    .onConflict((oc) => oc.columns(["delivery_id", "attempt"]).doNothing())
    .returning("id")
    .executeTakeFirst();
  return row?.id;
}

/** The jobs whose delivery has no row yet: the delivery id is its natural key. */
export async function withoutRows<T extends { readonly key: { readonly deliveryId: string } }>(
  db: Kysely<Database>,
  jobs: readonly T[],
): Promise<T[]> {
  if (jobs.length === 0) return [];
  const made = await db
    .selectFrom("webhook_deliveries")
    .select("delivery_id")
    .where(
      "delivery_id",
      "in",
      jobs.map((j) => j.key.deliveryId),
    )
    .execute();
  const taken = new Set(made.map((r) => r.delivery_id));
  return jobs.filter((j) => !taken.has(j.key.deliveryId));
}

export async function finishAttempt(
  db: Kysely<Database>,
  id: number,
  outcome: SendOutcome,
  now: Date,
  nextAttemptAt: Date | undefined,
): Promise<void> {
  await db
    .updateTable("webhook_deliveries")
    .set({
      status: outcome.status,
      http_status: "httpStatus" in outcome ? (outcome.httpStatus ?? null) : null,
      error: "error" in outcome ? outcome.error.slice(0, 500) : null,
      finished_at: now.toISOString(),
      next_attempt_at: nextAttemptAt?.toISOString() ?? null,
    })
    .where("id", "=", id)
    .execute();
}

/** Why an attempt left `sending` by a crash is retried: the receiver may or may not have it. */
export const INTERRUPTED =
  "interrupted: the bot stopped before this attempt finished; the receiver may have it";

/**
 * Settles an attempt that a crash left `sending`, with its retry due now (the caller may still drop
 * it). False when the row is no longer `sending`: whoever finished it owns what comes next.
 */
export async function markInterrupted(db: Kysely<Database>, id: number, now: Date): Promise<boolean> {
  const result = await db
    .updateTable("webhook_deliveries")
    .set({
      status: "failed",
      error: INTERRUPTED,
      finished_at: now.toISOString(),
      next_attempt_at: now.toISOString(),
    })
    .where("id", "=", id)
    .where("status", "=", "sending")
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** A scheduled retry that will not be made: clear it and say why on the attempt's row. */
export async function dropRetry(db: Kysely<Database>, id: number, error: string, why: string): Promise<void> {
  await db
    .updateTable("webhook_deliveries")
    .set({
      next_attempt_at: null,
      error: [error.slice(0, 440), `retry not made: ${why}`].filter(Boolean).join("; "),
    })
    .where("id", "=", id)
    .execute();
}

export type DeliveryRow = Readonly<Omit<WebhookDeliveriesTable, "id"> & { id: number }>;

/** Attempts for one request, oldest first (operators and tests read these). */
export async function listDeliveries(db: Kysely<Database>, requestId: number): Promise<DeliveryRow[]> {
  return db
    .selectFrom("webhook_deliveries")
    .selectAll()
    .where("request_id", "=", requestId)
    .orderBy("id")
    .execute();
}
