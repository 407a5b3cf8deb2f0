/**
 * Retention: events older than `audit.retention_days` are deleted, but only up to a signed
 * checkpoint — never past the newest one — so the chain still verifies from that checkpoint as
 * its anchor. The deletion and the `audit.purged` event that records it are one transaction; the
 * verifier (retained-anchor.ts) insists on that record.
 */
import type { Kysely } from "kysely";
import type { Store } from "../store/open-store.ts";
import type { Database } from "../store/tables.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { appendAudit } from "./audit-log.ts";
import { PURGE_ACTION } from "./retained-anchor.ts";

export interface PurgeReport {
  /** The events up to and including this sequence number are gone; its checkpoint is the anchor. */
  readonly throughSeq: number;
  readonly deleted: number;
}

/** Purges what retention allows; undefined when nothing may go yet. */
export async function purgeExpiredAudit(
  store: Store,
  retentionDays: number,
  now: Date,
): Promise<PurgeReport | undefined> {
  const cutoff = new Date(now.getTime() - retentionDays * 86_400_000).toISOString();
  // A read first, so the usual answer ("nothing yet") takes no write lock.
  if ((await findPurgeAnchor(store, cutoff)) === undefined) return undefined;
  return inTransaction(store, async (tx) => {
    const anchor = await findPurgeAnchor(tx, cutoff);
    if (anchor === undefined) return undefined;
    const result = await tx.deleteFrom("audit_events").where("seq", "<=", anchor.seq).executeTakeFirst();
    const deleted = Number(result.numDeletedRows);
    await appendAudit(
      tx,
      {
        actor: "system",
        action: PURGE_ACTION,
        target: "",
        outcome: "success",
        details: {
          through_seq: anchor.seq,
          through_hash: anchor.hash,
          checkpoint_time: anchor.time,
          retention_days: retentionDays,
          cutoff,
          deleted,
        },
      },
      now,
    );
    return { throughSeq: anchor.seq, deleted };
  });
}

/** The newest checkpoint whose own event is still stored and older than the cutoff. */
function findPurgeAnchor(
  db: Kysely<Database>,
  cutoff: string,
): Promise<{ seq: number; hash: string; time: string } | undefined> {
  return db
    .selectFrom("audit_checkpoints as c")
    .innerJoin("audit_events as e", "e.seq", "c.seq")
    .select(["c.seq", "c.hash", "c.time"])
    .where("e.time", "<", cutoff)
    .orderBy("c.seq", "desc")
    .limit(1)
    .executeTakeFirst();
}
