/**
 * The Slack outbox table (schema.sql `slack_outbox`): rows written with the change that causes
 * them, taken by a sender under a lease, deleted once Slack took them, rescheduled or failed
 * otherwise. A lease, not a lock: a sender that dies holding rows leaves them to whichever sender
 * looks after the lease ends, so a crash delays a delivery and never loses it. Each lease has a
 * token, and every write after the lease names it: a sender whose lease ran out (a paused
 * process) can no longer touch a row another sender now holds.
 *
 * The JSON is parsed here, once (STYLE.md): a row this version cannot read comes back as
 * `unreadable` so the sender fails that row alone.
 */
import { randomUUID } from "node:crypto";
import { sql, type ExpressionBuilder, type Kysely } from "kysely";
import { openValue, placeOf, sealValue, stateCipherOf } from "../crypto/state-cipher.ts";
import { deliverySchema, type Routed } from "../slack/delivery.ts";
import type { OutboxRowView, OutboxStore } from "../slack/slack-sender.ts";
import type { Store } from "./open-store.ts";
import type { Database, SlackOutboxTable } from "./tables.ts";

type Db = Kysely<Database>;

/** A held lease: the row and the token it was taken with. */
export interface Lease {
  readonly id: number;
  readonly leaseToken: string;
}

/**
 * Queues deliveries. One whose coalesce key a pending row that no sender holds already has is
 * folded into that row, which then counts its age from now: it stands for the newest change.
 */
export async function enqueueDeliveries(db: Db, routed: readonly Routed[], now: Date): Promise<number> {
  // A sealed delivery is two statements (the seal binds the row id the insert returns): run
  // outside a transaction (a command's answer is queued on the store itself), a sender on
  // another pooled connection could lease the row between them and find it empty, failing the
  // delivery: seen on PostgreSQL state, where a Slack command's answer then never arrived.
  if (!db.isTransaction && stateCipherOf(db) !== undefined) {
    return db.transaction().execute((tx) => enqueueDeliveries(tx, routed, now));
  }
  const at = now.toISOString();
  let added = 0;
  for (const r of routed) {
    if (r.coalesceKey !== null && (await foldIntoWaiting(db, r.coalesceKey, at))) continue;
    // A delivery holds message texts (SQL, reasons, results): sealed in an encrypted store, under
    // the row id the insert returns, in the same transaction as the insert.
    const sealing = stateCipherOf(db) !== undefined;
    const text = JSON.stringify(r.delivery);
    const row = await db
      .insertInto("slack_outbox")
      .values({
        lane: r.lane,
        coalesce_key: r.coalesceKey,
        delivery: sealing ? "" : await sealValue(db, "slack_outbox.delivery:new", text),
        status: "pending",
        next_attempt_at: at,
        lease_until: null,
        last_error: null,
        created_at: at,
        updated_at: at,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    if (sealing)
      await db
        .updateTable("slack_outbox")
        .set({ delivery: await sealValue(db, deliveryPlace(row.id), text) })
        .where("id", "=", row.id)
        .execute();
    added += 1;
  }
  return added;
}

const deliveryPlace = (id: number): string => placeOf("slack_outbox", "delivery", id);

/** True when a pending row with this key that no sender holds took the change over. */
async function foldIntoWaiting(db: Db, coalesceKey: string, at: string): Promise<boolean> {
  const r = await db
    .updateTable("slack_outbox")
    .set({ created_at: at })
    .where("coalesce_key", "=", coalesceKey)
    .where("status", "=", "pending")
    .where((eb) => eb.or([eb("lease_until", "is", null), eb("lease_until", "<=", at)]))
    .executeTakeFirst();
  return r.numUpdatedRows > 0n;
}

/**
 * Leases up to `limit` rows that are due, each the first pending row of its lane, skipping
 * `busyLanes`. A row is taken only if its lease is still free when the update runs, so two
 * senders never hold one row.
 */
export async function leaseDue(
  db: Db,
  o: { now: Date; leaseMs: number; limit: number; busyLanes: ReadonlySet<string> },
): Promise<OutboxRowView[]> {
  const at = o.now.toISOString();
  const heads = await db
    .selectFrom("slack_outbox as o")
    .select(["o.id", "o.lane"])
    .where("o.status", "=", "pending")
    .where("o.next_attempt_at", "<=", at)
    .where((eb) => eb.or([eb("o.lease_until", "is", null), eb("o.lease_until", "<=", at)]))
    .where(isLaneHead)
    .orderBy("o.id")
    .limit(o.limit + o.busyLanes.size)
    .execute();
  const until = new Date(o.now.getTime() + o.leaseMs).toISOString();
  const taken: OutboxRowView[] = [];
  for (const head of heads) {
    if (taken.length >= o.limit) break;
    if (o.busyLanes.has(head.lane)) continue;
    const leaseToken = randomUUID();
    const won = await db
      .updateTable("slack_outbox")
      .set({ lease_until: until, lease_token: leaseToken })
      .where("id", "=", head.id)
      .where("status", "=", "pending")
      .where((eb) => eb.or([eb("lease_until", "is", null), eb("lease_until", "<=", at)]))
      .executeTakeFirst();
    if (won.numUpdatedRows !== 1n) continue;
    const row = await db
      .selectFrom("slack_outbox")
      .select(["id", "lane", "delivery", "progress", "attempts", "created_at"])
      .where("id", "=", head.id)
      .executeTakeFirstOrThrow();
    taken.push(toRow(row, leaseToken, openDelivery(db, row)));
  }
  return taken;
}

/** The row's delivery JSON in the clear, or why it does not open (the sender fails that row alone). */
function openDelivery(
  db: Db,
  row: { id: number; delivery: string },
): { json: string } | { unreadable: string } {
  try {
    return { json: openValue(db, deliveryPlace(row.id), row.delivery) };
  } catch (err) {
    return { unreadable: (err as Error).message };
  }
}

function toRow(
  row: { id: number; lane: string; delivery: string; progress: string; attempts: number; created_at: string },
  leaseToken: string,
  opened: { json: string } | { unreadable: string },
): OutboxRowView {
  const parsed = "json" in opened ? deliverySchema.safeParse(safeJson(opened.json)) : undefined;
  const progress = safeJson(row.progress);
  return {
    id: row.id,
    leaseToken,
    lane: row.lane,
    delivery:
      parsed === undefined
        ? { unreadable: "unreadable" in opened ? opened.unreadable.slice(0, 500) : "" }
        : parsed.success
          ? parsed.data
          : { unreadable: parsed.error.message.slice(0, 500) },
    progress: Array.isArray(progress) ? progress.filter((p): p is string => typeof p === "string") : [],
    attempts: row.attempts,
    createdAt: row.created_at,
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * `o` is the first pending row of its lane. As an `IN` over one grouped scan of the lane index,
 * not a subquery per row: with a backlog of thousands of rows (a burst of answers) a per-row
 * check made each read quadratic, and the store is synchronous, so it held up the acks.
 */
function isLaneHead(eb: ExpressionBuilder<Database & { o: SlackOutboxTable }, "o">) {
  return eb(
    "o.id",
    "in",
    eb
      .selectFrom("slack_outbox as p")
      .select((p) => p.fn.min<number>("p.id").as("head"))
      .where("p.status", "=", "pending")
      .groupBy("p.lane"),
  );
}

/** Keeps the leases of rows still being delivered (a large file upload outlasts one lease). */
export async function renewLeases(db: Db, leases: readonly Lease[], until: Date): Promise<void> {
  for (const lease of leases) {
    await db
      .updateTable("slack_outbox")
      .set({ lease_until: until.toISOString() })
      .where("id", "=", lease.id)
      .where("lease_token", "=", lease.leaseToken)
      .where("status", "=", "pending")
      .execute();
  }
}

export async function saveProgress(db: Db, lease: Lease, progress: readonly string[]): Promise<void> {
  await db
    .updateTable("slack_outbox")
    .set({ progress: JSON.stringify(progress) })
    .where("id", "=", lease.id)
    .where("lease_token", "=", lease.leaseToken)
    .where("status", "=", "pending")
    .execute();
}

/** Slack took it: the row goes. */
export async function finishDelivery(db: Db, lease: Lease): Promise<void> {
  await db
    .deleteFrom("slack_outbox")
    .where("id", "=", lease.id)
    .where("lease_token", "=", lease.leaseToken)
    .where("status", "=", "pending")
    .execute();
}

export async function retryDeliveryAt(
  db: Db,
  lease: Lease,
  o: { at: Date; error: string; now: Date },
): Promise<void> {
  await endLease(db, lease, o, { next_attempt_at: o.at.toISOString() });
}

/** Given up on: kept (for `dbward doctor` and the metrics) until pruned, out of its lane's way. */
export async function failDelivery(db: Db, lease: Lease, o: { error: string; now: Date }): Promise<void> {
  await endLease(db, lease, o, { status: "failed" });
}

/** Ends a held lease after a failed try: the row waits for its retry, or is failed. */
async function endLease(
  db: Db,
  lease: Lease,
  o: { error: string; now: Date },
  then: { next_attempt_at: string } | { status: "failed" },
): Promise<void> {
  await db
    .updateTable("slack_outbox")
    .set({
      ...then,
      attempts: sql<number>`attempts + 1`,
      lease_until: null,
      lease_token: null,
      last_error: o.error,
      updated_at: o.now.toISOString(),
    })
    .where("id", "=", lease.id)
    .where("lease_token", "=", lease.leaseToken)
    .where("status", "=", "pending")
    .execute();
}

/**
 * When a row this sender could take next falls due: the head of each lane not in `busyLanes`, at
 * its retry time or when its lease ends, whichever is later. Undefined when there is none. (Rows
 * behind a waiting head, or held by another sender, are not due before their head or lease.)
 */
export async function nextDueAt(
  db: Db,
  busyLanes: ReadonlySet<string> = new Set(),
): Promise<Date | undefined> {
  let q = db
    .selectFrom("slack_outbox as o")
    .select(
      // The later of the two as CASE, not SQLite's two-argument max(), so PostgreSQL runs it too.
      sql<
        string | null
      >`min(case when o.lease_until > o.next_attempt_at then o.lease_until else o.next_attempt_at end)`.as(
        "at",
      ),
    )
    .where("o.status", "=", "pending")
    .where(isLaneHead);
  if (busyLanes.size > 0) q = q.where("o.lane", "not in", [...busyLanes]);
  const row = await q.executeTakeFirst();
  return row?.at == null ? undefined : new Date(row.at);
}

/** Whether any row is still pending (tests wait for the outbox to drain). */
export async function hasPending(db: Db): Promise<boolean> {
  const row = await db
    .selectFrom("slack_outbox")
    .select("id")
    .where("status", "=", "pending")
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

export interface OutboxStats {
  readonly pending: number;
  readonly failed: number;
  /** When the oldest pending row was queued. */
  readonly oldestPendingAt: string | null;
  /** The most recent failures, newest first. */
  readonly recentFailures: readonly { lane: string; error: string | null; at: string }[];
}

export async function outboxStats(db: Db): Promise<OutboxStats> {
  const counts = await db
    .selectFrom("slack_outbox")
    .select([
      "status",
      (eb) => eb.fn.countAll<number>().as("n"),
      (eb) => eb.fn.min<string>("created_at").as("oldest"),
    ])
    .groupBy("status")
    .execute();
  const failures = await db
    .selectFrom("slack_outbox")
    .select(["lane", "last_error", "updated_at"])
    .where("status", "=", "failed")
    .orderBy("id", "desc")
    .limit(5)
    .execute();
  const pending = counts.find((c) => c.status === "pending");
  return {
    pending: Number(pending?.n ?? 0),
    failed: Number(counts.find((c) => c.status === "failed")?.n ?? 0),
    oldestPendingAt: pending?.oldest ?? null,
    recentFailures: failures.map((f) => ({ lane: f.lane, error: f.last_error, at: f.updated_at })),
  };
}

/** Failed rows older than `before` go: they were logged and counted when they failed. */
export async function pruneFailed(db: Db, before: Date): Promise<void> {
  await db
    .deleteFrom("slack_outbox")
    .where("status", "=", "failed")
    .where("updated_at", "<", before.toISOString())
    .execute();
}

/** The outbox as the sender uses it, over the bot's store. */
export function storeSlackOutbox(store: Store): OutboxStore {
  return {
    leaseDue: (o) => leaseDue(store, o),
    renewLeases: (leases, until) => renewLeases(store, leases, until),
    saveProgress: (lease, progress) => saveProgress(store, lease, progress),
    finish: (lease) => finishDelivery(store, lease),
    retryAt: (lease, o) => retryDeliveryAt(store, lease, o),
    fail: (lease, o) => failDelivery(store, lease, o),
    nextDueAt: (busyLanes) => nextDueAt(store, busyLanes),
    hasPending: () => hasPending(store),
    pruneFailed: (before) => pruneFailed(store, before),
  };
}
