/**
 * The `webhook_deliveries` table: one row per attempt. A row is written as `sending` before the
 * attempt, so an attempt cut short by a crash still shows; the unique (delivery id, attempt) pair
 * means two bot processes on one store never both send the same attempt.
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

/** A scheduled retry that will not happen (the bot is stopping): say so on the attempt's row. */
export async function abandonRetry(db: Kysely<Database>, id: number, error: string): Promise<void> {
  await db
    .updateTable("webhook_deliveries")
    .set({ next_attempt_at: null, error: `${error.slice(0, 440)}; retry abandoned: the bot stopped` })
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
