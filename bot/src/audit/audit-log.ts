/**
 * The audit log over the state store. `appendAudit` must be called with the transaction of the
 * change it records (SECURITY.md principle 5): the event and the change commit or vanish together.
 */
import {
  ChainVerifier,
  canonicalJson,
  chainEvent,
  type AuditEvent,
  type AuditEventInput,
  type AuditOutcome,
  type ChainVerdict,
} from "@dbward/shared";
import type { Kysely } from "kysely";
import type { Tx } from "../store/in-transaction.ts";
import type { Database } from "../store/tables.ts";

export async function appendAudit(tx: Tx, input: AuditEventInput, now: Date): Promise<AuditEvent> {
  const last = await tx
    .selectFrom("audit_events")
    .select(["seq", "hash"])
    .orderBy("seq", "desc")
    .limit(1)
    .executeTakeFirst();
  const event = chainEvent(last, input, now);
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
  return event;
}

export interface AuditQuery {
  readonly afterSeq?: number;
  readonly limit?: number;
  readonly target?: string;
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
  const rows = await query.execute();
  return rows.map(toEvent);
}

/** Recomputes the whole chain from the store, a page at a time, in constant memory. */
export async function verifyAuditStore(db: Kysely<Database>, pageSize = 5000): Promise<ChainVerdict> {
  const verifier = new ChainVerifier();
  let after = 0;
  for (;;) {
    const page = await listAudit(db, { afterSeq: after, limit: pageSize });
    for (const e of page) if (!verifier.push(e)) return verifier.verdict();
    const last = page.at(-1);
    if (last === undefined) return verifier.verdict();
    after = last.seq;
  }
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
