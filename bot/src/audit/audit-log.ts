/**
 * The audit log over the state store. `appendAudit` must be called with the transaction of the
 * change it records (SECURITY.md principle 5): the event and the change commit or vanish together.
 */
import {
  ChainVerifier,
  canonicalJson,
  chainEvent,
  type AuditEvent,
  type AuditEventView,
  type AuditEventInput,
  type AuditOutcome,
  type ChainVerdict,
} from "@dbward/shared";
import { sql, type Kysely } from "kysely";
import type { Tx } from "../store/in-transaction.ts";
import type { Database } from "../store/tables.ts";
import { isMalformedRow } from "./audit-rows.ts";
import { hasSealedAuditEvent, sealAuditInput } from "../crypto/seal-audit-details.ts";
import { withAuditSnapshot, type AuditSnapshot } from "./audit-snapshot.ts";
import { findRetainedAnchor, recordsPurgeThrough, unrecordedPurge } from "./retained-anchor.ts";
import { verifySqliteFileStore } from "./verify-sqlite-store.ts";

export async function appendAudit(tx: Tx, input: AuditEventInput, now: Date): Promise<AuditEvent> {
  const last = await tx
    .selectFrom("audit_events")
    .select(["seq", "hash"])
    .orderBy("seq", "desc")
    .limit(1)
    .executeTakeFirst();
  // Free text sealed under the event's own seq before hashing (crypto/seal-audit-details.ts).
  const event = chainEvent(last, await sealAuditInput(tx, (last?.seq ?? 0) + 1, input), now);
  await tx
    .insertInto("audit_events")
    .values({
      seq: event.seq,
      time: event.time,
      actor: event.actor,
      action: event.action,
      target: event.target,
      outcome: event.outcome,
      details: canonicalJson(event.details),
      prev_hash: event.prevHash,
      hash: event.hash,
    })
    .execute();
  await countTowardsCheckpoint(tx);
  return event;
}

/**
 * True when an event with exactly this action, target and details is already in the chain: for
 * reports that may arrive more than once (an agent sending its outbox again after a lost answer)
 * and must be recorded once.
 */
export async function hasAuditEvent(
  db: Kysely<Database>,
  e: Pick<AuditEventInput, "action" | "target" | "details">,
): Promise<boolean> {
  const sealed = await hasSealedAuditEvent(db, e, canonicalJson, parseDetails);
  if (sealed !== undefined) return sealed;
  const row = await db
    .selectFrom("audit_events")
    .select("seq")
    .where("target", "=", e.target)
    .where("action", "=", e.action)
    .where("details", "=", canonicalJson(e.details ?? {}))
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * The explicit count of events since the last signed checkpoint (audit-checkpoints.ts resets it),
 * kept in the same transaction as the event so the two can never disagree.
 */
async function countTowardsCheckpoint(tx: Tx): Promise<void> {
  await tx
    .insertInto("audit_checkpoint_state")
    .values({ id: 1, events_since_checkpoint: 1 })
    .onConflict((oc) =>
      oc.column("id").doUpdateSet((eb) => ({
        events_since_checkpoint: eb(eb.ref("audit_checkpoint_state.events_since_checkpoint"), "+", 1),
      })),
    )
    .execute();
}

export interface AuditQuery {
  readonly afterSeq?: number;
  readonly limit?: number;
  readonly target?: string;
  readonly actor?: string;
  /** An exact action, or a prefix when it ends with `*` (`token.*`). */
  readonly action?: string;
  /** ISO 8601 times: `since` inclusive, `until` exclusive. */
  readonly since?: string;
  readonly until?: string;
}

/** An event as the API and the export show it: the stored event, with snake_case names. */
export function toAuditEventView(e: AuditEvent): AuditEventView {
  return {
    seq: e.seq,
    time: e.time,
    actor: e.actor,
    action: e.action,
    target: e.target,
    outcome: e.outcome,
    details: { ...e.details },
    prev_hash: e.prevHash,
    hash: e.hash,
  };
}

/** Events in sequence order, a page at a time. */
export async function listAudit(db: Kysely<Database>, q: AuditQuery = {}): Promise<AuditEvent[]> {
  let query = db
    .selectFrom("audit_events")
    .selectAll()
    .where("seq", ">", q.afterSeq ?? 0)
    .orderBy("seq")
    .limit(Math.min(q.limit ?? 1000, 10_000));
  if (q.target !== undefined) query = query.where("target", "=", q.target);
  if (q.actor !== undefined) query = query.where("actor", "=", q.actor);
  if (q.action?.endsWith("*") === true) {
    // An exact prefix on both dialects: LIKE would treat `_` as a wildcard, and ignore case in SQLite.
    const prefix = q.action.slice(0, -1);
    query = query.where(sql<boolean>`substr(action, 1, ${prefix.length}) = ${prefix}`);
  } else if (q.action !== undefined) query = query.where("action", "=", q.action);
  if (q.since !== undefined) query = query.where("time", ">=", q.since);
  if (q.until !== undefined) query = query.where("time", "<", q.until);
  const rows = await query.execute();
  return rows.map(toEvent);
}

/**
 * Recomputes the whole chain from the store in one snapshot (audit-snapshot.ts), in constant
 * memory. When retention purged the oldest events, verification starts from the retained anchor
 * (retained-anchor.ts): the checkpoint just before the oldest event, which a recorded purge must
 * name. `batchSize` is how many events are read at a time.
 */
export async function verifyAuditStore(db: Kysely<Database>, batchSize = 5000): Promise<ChainVerdict> {
  // A SQLite file, the usual store: read and hashed row by row without an object per event.
  const fromFile = await verifySqliteFileStore(db, batchSize);
  if (fromFile !== undefined) return fromFile;
  return withAuditSnapshot(db, async (snapshot) => {
    const start = await findRetainedAnchor(snapshot.db);
    if (!start.ok) return start;
    return scanRetained(snapshot, start.anchor?.seq, new ChainVerifier(start.anchor), batchSize);
  });
}

/** Something that takes events in order and gives a verdict: ChainVerifier and its relatives. */
export interface EventVerifier<V> {
  push(e: AuditEvent): boolean;
  verdict(): V;
}

/**
 * Feeds the events after `anchorSeq` (all of them when undefined) to `verifier`, and insists that
 * a purge up to the anchor is on record. A row that is not an event is a `malformed_event` break
 * at its sequence number (or, when it has none, at the one expected there).
 */
export async function scanRetained<V extends { readonly ok: boolean }>(
  snapshot: AuditSnapshot,
  anchorSeq: number | undefined,
  verifier: EventVerifier<V>,
  batchSize = 5000,
): Promise<V | Extract<ChainVerdict, { ok: false }>> {
  let purgeRecorded = anchorSeq === undefined;
  let lastSeq = anchorSeq ?? 0;
  for await (const batch of snapshot.events(anchorSeq ?? 0, batchSize)) {
    for (const row of batch) {
      if (isMalformedRow(row))
        return { ok: false, seq: row.seq ?? lastSeq + 1, reason: "malformed_event", message: row.malformed };
      if (!verifier.push(row)) return verifier.verdict();
      purgeRecorded ||= recordsPurgeThrough(row, anchorSeq);
      lastSeq = row.seq;
    }
  }
  const verdict = verifier.verdict();
  return !verdict.ok || purgeRecorded || anchorSeq === undefined ? verdict : unrecordedPurge(anchorSeq);
}

function toEvent(r: Database["audit_events"]): AuditEvent {
  return {
    seq: r.seq,
    time: r.time,
    actor: r.actor,
    action: r.action,
    target: r.target,
    outcome: r.outcome as AuditOutcome,
    details: parseDetails(r.details),
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/** A details column that is not a JSON object still verifies (and fails) by its hash, not by a crash. */
function parseDetails(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === "object" && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : { _unparsable: text };
  } catch {
    return { _unparsable: text };
  }
}
