/**
 * Signed checkpoints of the audit chain's head, stored in `audit_checkpoints`. A checkpoint is due
 * when the explicit counter kept by `appendAudit` reaches the configured number of events, or
 * when the configured minutes have passed since the last one and at least one event was appended.
 * Reading the head, signing it, storing the checkpoint and resetting the counter are one
 * transaction, so two processes on one store never sign twice for the same events.
 */
import {
  DbwardError,
  parsePublicKey,
  signCheckpointWith,
  type SignedCheckpoint,
  type Signer,
  type TrustedKey,
  type TrustedKeys,
} from "@dbward/shared";
import type { Kysely } from "kysely";
import { checkpointKeyRows } from "../keys/signing-key-history.ts";
import { inTransaction } from "../store/in-transaction.ts";
import type { Store } from "../store/open-store.ts";
import type { Database } from "../store/tables.ts";
import { toSignedCheckpoint } from "./retained-anchor.ts";

export interface CheckpointPolicy {
  readonly everyEvents: number;
  readonly everyMinutes: number;
}

interface Due {
  readonly count: number;
  readonly lastTime: string | undefined;
}

function isDue(d: Due, policy: CheckpointPolicy, now: Date): boolean {
  if (d.count === 0) return false;
  if (d.count >= policy.everyEvents || d.lastTime === undefined) return true;
  return now.getTime() - Date.parse(d.lastTime) >= policy.everyMinutes * 60_000;
}

async function readDue(db: Kysely<Database>): Promise<Due> {
  const state = await db
    .selectFrom("audit_checkpoint_state")
    .select("events_since_checkpoint")
    .where("id", "=", 1)
    .executeTakeFirst();
  const last = await db
    .selectFrom("audit_checkpoints")
    .select("time")
    .orderBy("seq", "desc")
    .limit(1)
    .executeTakeFirst();
  return { count: state?.events_since_checkpoint ?? 0, lastTime: last?.time };
}

/** Signs the head when the policy says it is time; undefined when it is not. */
export async function takeCheckpointIfDue(
  store: Store,
  key: Signer<"checkpoints">,
  policy: CheckpointPolicy,
  now: Date,
): Promise<SignedCheckpoint | undefined> {
  // A read first, so the usual answer ("not yet") takes no write lock.
  if (!isDue(await readDue(store), policy, now)) return undefined;
  return inTransaction(store, async (tx) =>
    isDue(await readDue(tx), policy, now) ? sign(tx, key, now) : undefined,
  );
}

/** Signs the head now if any event was appended since the last checkpoint. */
export async function takeCheckpoint(
  store: Store,
  key: Signer<"checkpoints">,
  now: Date,
): Promise<SignedCheckpoint | undefined> {
  return inTransaction(store, async (tx) => ((await readDue(tx)).count > 0 ? sign(tx, key, now) : undefined));
}

async function sign(
  tx: Kysely<Database>,
  key: Signer<"checkpoints">,
  now: Date,
): Promise<SignedCheckpoint | undefined> {
  const head = await tx
    .selectFrom("audit_events")
    .select(["seq", "hash"])
    .orderBy("seq", "desc")
    .limit(1)
    .executeTakeFirst();
  const latest = await latestCheckpoint(tx);
  await tx
    .updateTable("audit_checkpoint_state")
    .set({ events_since_checkpoint: 0 })
    .where("id", "=", 1)
    .execute();
  // Counted events with no newer head (the events were deleted by hand): nothing honest to sign.
  if (head === undefined || (latest !== undefined && head.seq <= latest.seq)) return undefined;
  // A start with another checkpoint key retired this one (signing-key-history.ts): an instance on
  // shared state still holding it (a second bot with its own key, the old one of a rolling
  // rotation) signs nothing verifiers would refuse. Rolled back: the counter stays as it was.
  const mine = await tx
    .selectFrom("checkpoint_signing_keys")
    .select("until_seq")
    .where("kid", "=", key.kid)
    .executeTakeFirst();
  if (mine !== undefined && mine.until_seq !== null)
    throw new DbwardError(
      "signing.unavailable",
      `checkpoint key ${key.kid} was retired at sequence ${mine.until_seq} by a start with another checkpoint key; this instance must use the shared state's current one (GET /api/public-key, checkpoint_keys)`,
    );
  // Signed inside the transaction that stores it: an HSM that fails leaves the counter as it was.
  const cp = await signCheckpointWith(key, head, now);
  await tx
    .insertInto("audit_checkpoints")
    .values({ seq: cp.seq, hash: cp.hash, time: cp.time, kid: cp.kid, signature: cp.sig })
    .execute();
  return cp;
}

/** The newest checkpoint, if any. */
export async function latestCheckpoint(db: Kysely<Database>): Promise<SignedCheckpoint | undefined> {
  const row = await db
    .selectFrom("audit_checkpoints")
    .selectAll()
    .orderBy("seq", "desc")
    .limit(1)
    .executeTakeFirst();
  return row === undefined ? undefined : toSignedCheckpoint(row);
}

/** The newest checkpoint at or before `seq`, no older than `notBefore`. */
export async function checkpointAtOrBefore(
  db: Kysely<Database>,
  seq: number,
  notBefore: number,
): Promise<SignedCheckpoint | undefined> {
  const row = await db
    .selectFrom("audit_checkpoints")
    .selectAll()
    .where("seq", "<=", seq)
    .where("seq", ">=", notBefore)
    .orderBy("seq", "desc")
    .limit(1)
    .executeTakeFirst();
  return row === undefined ? undefined : toSignedCheckpoint(row);
}

/** Every stored checkpoint at or after `fromSeq`, oldest first. */
export async function listCheckpoints(db: Kysely<Database>, fromSeq = 0): Promise<SignedCheckpoint[]> {
  const rows = await db
    .selectFrom("audit_checkpoints")
    .selectAll()
    .where("seq", ">=", fromSeq)
    .orderBy("seq")
    .execute();
  return rows.map(toSignedCheckpoint);
}

/**
 * The public keys whose checkpoints verify (signing-key-history.ts), by key id: every checkpoint
 * key this store has started with, and each token key that signed checkpoints before they had a
 * key of their own, trusted only up to the sequence it reached then. A token key that never
 * signed one is left out: a token key's signature over a checkpoint is `unknown_key`. A row that
 * is not a public key is left out too, so the checkpoints it would check are reported the same.
 */
export async function storedPublicKeys(db: Kysely<Database>): Promise<TrustedKeys> {
  const byKid = new Map<string, TrustedKey>();
  for (const row of await checkpointKeyRows(db)) {
    const key = parsePublicKey(row.kid, row.public_key);
    if (key !== undefined)
      byKid.set(row.kid, row.until_seq === null ? key : { ...key, untilSeq: row.until_seq });
  }
  return { byKid, anyKid: [] };
}
