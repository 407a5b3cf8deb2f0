/**
 * Which Slack deliveries the bot has handled (schema.sql `slack_inbound_seen`): the first insert
 * of an identity wins, in one statement, so two instances or two connections given the same
 * envelope cannot both handle it.
 */
import type { Kysely } from "kysely";
import type { Database } from "./tables.ts";

/** Identities are kept this long: Slack re-delivers within minutes, never after a day. */
const KEPT_MS = 24 * 3_600_000;

/** True for the first delivery of `identity`; false when it was handled before. */
export async function isFirstDelivery(db: Kysely<Database>, identity: string, now: Date): Promise<boolean> {
  const r = await db
    .insertInto("slack_inbound_seen")
    .values({ identity, seen_at: now.toISOString() })
    .onConflict((oc) => oc.column("identity").doNothing())
    .executeTakeFirst();
  return (r.numInsertedOrUpdatedRows ?? 0n) === 1n;
}

export async function forgetOldDeliveries(db: Kysely<Database>, now: Date): Promise<void> {
  await db
    .deleteFrom("slack_inbound_seen")
    .where("seen_at", "<", new Date(now.getTime() - KEPT_MS).toISOString())
    .execute();
}
