/**
 * Deliveries the table says are not finished: the latest attempt is either `failed` with a retry
 * scheduled (`next_attempt_at`), or still `sending`. The dispatcher reads these at start, so
 * retries survive a restart, and again whenever it had more than it could hold in memory.
 *
 * A `sending` row may belong to another bot process on the same store that is sending right now.
 * It is taken as orphaned (a crash mid-attempt) only once it is older than any attempt can last:
 * `timeout_ms` is at most 60 s, and the destination check before it resolves the name once.
 *
 * The table keeps every attempt ever made; the partial index webhook_deliveries_pending (schema.sql)
 * holds only these rows, so the read does not grow with the history.
 */
import { sql } from "kysely";
import type { Store } from "../store/open-store.ts";

export const ORPHANED_AFTER_MS = 120_000;

export interface PendingRow {
  readonly id: number;
  readonly deliveryId: string;
  readonly webhook: string;
  readonly event: string;
  readonly auditSeq: number;
  readonly requestId: number;
  readonly attempt: number;
  /** The row's error so far: a dropped retry appends its reason to it. */
  readonly error: string;
}

export type Pending =
  /** The row's own retry, due at its `next_attempt_at`. */
  | { readonly kind: "scheduled"; readonly row: PendingRow; readonly due: Date }
  /** Left `sending`; due once no live process can still be sending it. */
  | { readonly kind: "interrupted"; readonly row: PendingRow; readonly due: Date };

/** The oldest `limit` pending deliveries, one per delivery id (its latest attempt). */
export async function findPending(store: Store, limit: number): Promise<Pending[]> {
  const rows = await pendingQuery(store, limit).execute();
  return rows.map((r) => {
    const row: PendingRow = {
      id: r.id,
      deliveryId: r.delivery_id,
      webhook: r.webhook,
      event: r.event,
      auditSeq: r.audit_seq,
      requestId: r.request_id,
      attempt: r.attempt,
      error: r.error ?? "",
    };
    return r.status === "sending" || r.next_attempt_at === null
      ? { kind: "interrupted", row, due: new Date(Date.parse(r.started_at) + ORPHANED_AFTER_MS) }
      : { kind: "scheduled", row, due: new Date(r.next_attempt_at) };
  });
}

/** The query behind findPending (exported so a test can check its plan). */
export function pendingQuery(store: Store, limit: number) {
  return (
    store
      .selectFrom("webhook_deliveries as d")
      .select([
        "d.id",
        "d.delivery_id",
        "d.webhook",
        "d.event",
        "d.audit_seq",
        "d.request_id",
        "d.attempt",
        "d.status",
        "d.error",
        "d.started_at",
        "d.next_attempt_at",
      ])
      // Word for word the partial index's condition, with literals: SQLite uses a partial index
      // only when it can see that the query implies it. Only failed rows carry a next_attempt_at.
      .where(sql<boolean>`(d.status = 'sending' OR d.next_attempt_at IS NOT NULL)`)
      .where("d.status", "in", ["sending", "failed"])
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom("webhook_deliveries as later")
              .select("later.id")
              .whereRef("later.delivery_id", "=", "d.delivery_id")
              .whereRef("later.attempt", ">", "d.attempt"),
          ),
        ),
      )
      .orderBy(sql`coalesce(d.next_attempt_at, d.started_at)`)
      .orderBy("d.id")
      .limit(limit)
  );
}
