/**
 * How far the webhook dispatcher has routed the audit chain, kept in the store (`webhook_cursor`)
 * so that a start picks up where the last process left off: the audit chain is the outbox, and
 * this is its read mark. A crash loses no event, and sends none twice except an attempt it left
 * `sending` (resume-delivery.ts).
 *
 * The stored position moves past an event only once every delivery routed for it has its first
 * attempt's row: `sending`, finished, or recorded as not sent (queue full, bot stopping). Until
 * then a crash leaves the position before the event and the next start routes it again, skipping
 * the deliveries that have a row by then. Rows land out of order (several attempts at a time, and
 * the not-sent paths), so the position is one below the oldest event still waiting for a row, or
 * the last event routed when none is waiting. A row that cannot be written holds the position
 * there until the next start, which is what makes that start try the delivery again.
 *
 * It is kept only while webhooks are configured. Without one, a start begins at the chain's head,
 * so webhooks configured for the first time, or again after a time without any, are not sent the
 * history.
 */
import { sql } from "kysely";
import type { Clock } from "../core/clock.ts";
import type { Store } from "../store/open-store.ts";

export interface PositionOptions {
  /** Whether webhooks are configured now (the position is kept only then). */
  readonly enabled: () => boolean;
  readonly clock: Clock;
  readonly onError: (err: unknown) => void;
}

export async function auditHead(store: Store): Promise<number> {
  const row = await store
    .selectFrom("audit_events")
    .select("seq")
    .orderBy("seq", "desc")
    .limit(1)
    .executeTakeFirst();
  return row?.seq ?? 0;
}

export async function readPosition(store: Store): Promise<number | undefined> {
  const row = await store.selectFrom("webhook_cursor").select("audit_seq").executeTakeFirst();
  return row?.audit_seq;
}

/**
 * Never moves the stored position back: bot processes sharing a store each write it, and what one
 * of them claims holds for all, since the rows it counted on are in the shared table.
 */
export async function storePosition(store: Store, seq: number, now: Date): Promise<void> {
  await store
    .insertInto("webhook_cursor")
    .values({ id: 1, audit_seq: seq, updated_at: now.toISOString() })
    .onConflict((oc) =>
      oc.column("id").doUpdateSet({
        // CASE, not SQLite's two-argument max(): the same SQL runs on PostgreSQL state.
        audit_seq: sql<number>`case when excluded.audit_seq > webhook_cursor.audit_seq then excluded.audit_seq else webhook_cursor.audit_seq end`,
        updated_at: sql<string>`excluded.updated_at`,
      }),
    )
    .execute();
}

export async function clearPosition(store: Store): Promise<void> {
  await store.deleteFrom("webhook_cursor").execute();
}

export class RoutingPosition {
  /** Waiting for rows: event seq → how many of its deliveries have none yet. */
  private readonly open = new Map<number, number>();
  private saving: Promise<void> | undefined;
  private again = false;

  private constructor(
    private readonly store: Store,
    private readonly o: PositionOptions,
    /** Every event up to here has been routed. */
    private routed: number,
    /** What this process last wrote (undefined: no row). */
    private saved: number | undefined,
  ) {}

  /** The stored position, or the head when there is none (written at once, so a crash keeps it). */
  static async load(store: Store, o: PositionOptions): Promise<RoutingPosition> {
    if (!o.enabled()) {
      await clearPosition(store);
      return new RoutingPosition(store, o, await auditHead(store), undefined);
    }
    const stored = await readPosition(store);
    if (stored !== undefined) return new RoutingPosition(store, o, stored, stored);
    const head = await auditHead(store);
    await storePosition(store, head, o.clock.now());
    return new RoutingPosition(store, o, head, head);
  }

  /** Events after this one are still to be routed. */
  get routedThrough(): number {
    return this.routed;
  }

  /**
   * Every event up to `seq` is routed; `seq`'s own deliveries that have no row yet are `waiting`.
   * Callers route in seq order, one event at a time.
   */
  advance(seq: number, waiting = 0): void {
    if (waiting > 0) this.open.set(seq, waiting);
    this.routed = Math.max(this.routed, seq);
    this.save();
  }

  /** One delivery of event `seq` has its row now. */
  settled(seq: number): void {
    const left = (this.open.get(seq) ?? 1) - 1;
    if (left > 0) {
      this.open.set(seq, left);
      return;
    }
    this.open.delete(seq);
    this.save();
  }

  /** The highest seq such that every event up to it has a row for each of its deliveries. */
  durable(): number {
    let oldest = Infinity;
    for (const seq of this.open.keys()) oldest = Math.min(oldest, seq);
    return oldest === Infinity ? this.routed : oldest - 1;
  }

  /** Waits until the store holds the position as it stands now. */
  async flush(): Promise<void> {
    this.save();
    while (this.saving !== undefined) await this.saving;
  }

  /** One write at a time; changes made meanwhile are written by the next one. */
  private save(): void {
    if (this.saving !== undefined) {
      this.again = true;
      return;
    }
    this.saving = this.write()
      .catch((err: unknown) => this.o.onError(err))
      .finally(() => {
        this.saving = undefined;
        if (this.again) {
          this.again = false;
          this.save();
        }
      });
  }

  private async write(): Promise<void> {
    const target = this.o.enabled() ? this.durable() : undefined;
    if (target === this.saved) return;
    if (target === undefined) await clearPosition(this.store);
    else await storePosition(this.store, target, this.o.clock.now());
    this.saved = target;
  }
}
