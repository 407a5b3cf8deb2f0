/**
 * Where verification of a store starts. Before any purge it is the genesis. After retention
 * purged events 1..k (audit-retention.ts), it is the signed checkpoint at k, and the retained
 * chain must contain the `audit.purged` event that records k: events deleted from the front by
 * anyone else — even exactly up to a checkpoint — are reported, not taken for a purge.
 */
import {
  CHECKPOINT_TYPE,
  CHECKPOINT_VERSION,
  type AuditEvent,
  type ChainVerdict,
  type SignedCheckpoint,
} from "@dbward/shared";
import type { Kysely } from "kysely";
import type { Database } from "../store/tables.ts";

/** The audit action a purge appends; its details name the anchor (`through_seq`). */
export const PURGE_ACTION = "audit.purged";

export type RetainedStart =
  { readonly ok: true; readonly anchor: SignedCheckpoint | undefined } | Extract<ChainVerdict, { ok: false }>;

export async function findRetainedAnchor(db: Kysely<Database>): Promise<RetainedStart> {
  const first = await db.selectFrom("audit_events").select("seq").orderBy("seq").limit(1).executeTakeFirst();
  if (first === undefined || first.seq === 1) return { ok: true, anchor: undefined };
  const row = await db
    .selectFrom("audit_checkpoints")
    .selectAll()
    .where("seq", "=", first.seq - 1)
    .executeTakeFirst();
  if (row === undefined) {
    return {
      ok: false,
      seq: first.seq,
      reason: "sequence_gap",
      message: `events before ${first.seq} are missing and no signed checkpoint at ${first.seq - 1} anchors the rest`,
    };
  }
  return { ok: true, anchor: toSignedCheckpoint(row) };
}

/** True when `e` is the purge event that made `anchorSeq` the anchor. */
export function recordsPurgeThrough(e: AuditEvent, anchorSeq: number | undefined): boolean {
  return anchorSeq !== undefined && e.action === PURGE_ACTION && e.details.through_seq === anchorSeq;
}

export function unrecordedPurge(anchorSeq: number): Extract<ChainVerdict, { ok: false }> {
  return {
    ok: false,
    seq: anchorSeq + 1,
    reason: "sequence_gap",
    message: `events up to ${anchorSeq} were deleted, but no ${PURGE_ACTION} event after ${anchorSeq} records a purge`,
  };
}

export function toSignedCheckpoint(row: Database["audit_checkpoints"]): SignedCheckpoint {
  return {
    type: CHECKPOINT_TYPE,
    v: CHECKPOINT_VERSION,
    seq: row.seq,
    hash: row.hash,
    time: row.time,
    kid: row.kid,
    sig: row.signature,
  };
}
