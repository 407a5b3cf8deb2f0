/**
 * Slack request signatures already accepted (schema.sql `slack_signatures_seen`, T-REPLAY): the
 * first insert of a signature wins, in one statement outside any transaction, so an exact replay
 * is refused whichever bot instance it reaches and after a restart. The request guard writes only
 * signatures that verified: a forged body never reaches the store.
 */
import type { Kysely } from "kysely";
import type { Database } from "./tables.ts";

/** True the first time `signature` is given; false when it was accepted before and not yet pruned. */
export async function isFirstSignature(
  db: Kysely<Database>,
  signature: string,
  expiresAt: Date,
): Promise<boolean> {
  const r = await db
    .insertInto("slack_signatures_seen")
    .values({ signature, expires_at: expiresAt.toISOString() })
    .onConflict((oc) => oc.column("signature").doNothing())
    .executeTakeFirst();
  return (r.numInsertedOrUpdatedRows ?? 0n) === 1n;
}

/** Forgets signatures whose window has passed: Slack's staleness check refuses them by now. */
export async function forgetExpiredSignatures(db: Kysely<Database>, now: Date): Promise<void> {
  await db.deleteFrom("slack_signatures_seen").where("expires_at", "<", now.toISOString()).execute();
}
