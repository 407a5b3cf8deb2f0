/**
 * The signing keys this bot has started with, one history per purpose: token keys in
 * `signing_keys` (what agents pin), checkpoint keys in `checkpoint_signing_keys` (what `audit
 * verify` trusts). A key can be replaced between starts (key rotation, a move to an HSM, a
 * restore, or someone who should not); the state store remembers every key id, so the start that
 * brings a different key records it in the audit chain, in the same transaction, and the retired
 * public keys stay available to verify what they signed.
 *
 * A key id belongs to one purpose for good: a start whose checkpoint key once signed tokens (or
 * the reverse) is refused, so no key is ever trusted for both.
 */
import { DbwardError, base64url, type Signer, type SigningPurpose } from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import { inTransaction, type Tx } from "../store/in-transaction.ts";
import type { Store } from "../store/open-store.ts";

/** How this start's key relates to the ones before it. */
export type KeyChange =
  /** Generated at this start: the first key of a new bot. */
  | "key.created"
  /** The first key this state store sees, installed by the operator rather than generated. */
  | "key.installed"
  /** Differs from the key of the previous start (a rotation, or a return to an older key). */
  | "key.changed";

/** The audit action of each change, per purpose (the token key's actions predate the split). */
const ACTIONS: Record<SigningPurpose, Record<KeyChange, string>> = {
  tokens: { "key.created": "key.created", "key.installed": "key.installed", "key.changed": "key.changed" },
  checkpoints: {
    "key.created": "checkpoint_key.created",
    "key.installed": "checkpoint_key.installed",
    "key.changed": "checkpoint_key.changed",
  },
};

const TABLES = { tokens: "signing_keys", checkpoints: "checkpoint_signing_keys" } as const;

export interface PublishedKey {
  readonly kid: string;
  readonly public_key: string;
  readonly first_used_at: string;
}

/** A key this start signs with, and whether it was generated at this start. */
export interface StartingKey<P extends SigningPurpose> {
  readonly signer: Signer<P>;
  readonly created: boolean;
  /** Named when an instance of shared state is missing the key: what to copy from another. */
  readonly copyHint: string;
}

/**
 * Records this start's keys, one transaction for both; appends an audit event for each key that
 * is new or changed. `shared`: the store is shared by several instances (PostgreSQL state), where
 * a key generated at this start while the store already knows one means this instance is missing
 * the shared key file: it would sign what nobody trusts, so the start is refused instead (checked
 * inside the transaction, so instances starting at once on an empty store let exactly one
 * generate).
 */
export async function recordSigningKeys(
  store: Store,
  keys: { readonly tokens: StartingKey<"tokens">; readonly checkpoints: StartingKey<"checkpoints"> },
  now: Date,
  shared = false,
): Promise<{ tokens: KeyChange | undefined; checkpoints: KeyChange | undefined }> {
  return inTransaction(store, async (tx) => {
    const tokens = await recordKey(tx, keys.tokens, now, shared);
    // Fixed once, at the first start where checkpoints have a key of their own: the token keys
    // before it signed the checkpoints up to here and none after (TrustedKey.untilSeq).
    const last = await tx
      .selectFrom("audit_checkpoints")
      .select((eb) => eb.fn.max("seq").as("seq"))
      .executeTakeFirst();
    await tx
      .updateTable("signing_keys")
      .set({ checkpoints_until_seq: Number(last?.seq ?? 0) })
      .where("checkpoints_until_seq", "is", null)
      .execute();
    const checkpoints = await recordKey(tx, keys.checkpoints, now, shared);
    // Every other checkpoint key is retired at the newest checkpoint, as the token keys were: a
    // derived key keeps existing as long as its token key file, and an old file or HSM key may
    // have been copied, so neither may vouch for a head it never signed. The current key is open
    // (again, after a return to an older key).
    // The newest checkpoint read again after the change's audit event: appending it waited for
    // the row lock of audit_checkpoint_state that a checkpoint being taken holds (PostgreSQL),
    // so one signed by the old key at this moment is under the bound, never past it.
    const kid = keys.checkpoints.signer.kid;
    const newest = await tx
      .selectFrom("audit_checkpoints")
      .select((eb) => eb.fn.max("seq").as("seq"))
      .executeTakeFirst();
    await tx
      .updateTable("checkpoint_signing_keys")
      .set({ until_seq: Number(newest?.seq ?? 0) })
      .where("kid", "!=", kid)
      .where("until_seq", "is", null)
      .execute();
    await tx.updateTable("checkpoint_signing_keys").set({ until_seq: null }).where("kid", "=", kid).execute();
    return { tokens, checkpoints };
  });
}

async function recordKey<P extends SigningPurpose>(
  tx: Tx,
  key: StartingKey<P>,
  now: Date,
  shared: boolean,
): Promise<KeyChange | undefined> {
  const { signer, created } = key;
  const purpose: SigningPurpose = signer.purpose;
  const table = TABLES[purpose];
  const other = TABLES[purpose === "tokens" ? "checkpoints" : "tokens"];
  const at = now.toISOString();
  const previous = await tx
    .selectFrom(table)
    .select(["kid"])
    .orderBy("last_started_at", "desc")
    .orderBy("first_used_at", "desc")
    .limit(1)
    .executeTakeFirst();
  if (shared && created && previous !== undefined && previous.kid !== signer.kid) {
    throw new DbwardError(
      "config.invalid",
      `this instance has no ${purpose === "tokens" ? "signing" : "checkpoint signing"} key file and generated one, but the shared state already signs with key ${previous.kid}: every instance must use the same key; ${key.copyHint}`,
    );
  }
  // By public key too: a key file names its own kid, so the other purpose's key may come back
  // under a new one.
  const elsewhere = await tx
    .selectFrom(other)
    .select("kid")
    .where((eb) => eb.or([eb("kid", "=", signer.kid), eb("public_key", "=", base64url(signer.publicKey))]))
    .executeTakeFirst();
  if (elsewhere !== undefined)
    throw new DbwardError(
      "config.invalid",
      `signing.${purpose}: key ${signer.kid} already signed ${purpose === "tokens" ? "audit checkpoints" : "execution tokens"} for this bot${elsewhere.kid === signer.kid ? "" : ` (as key ${elsewhere.kid})`}; each purpose needs a key that never signed the other`,
    );
  const known = await tx.selectFrom(table).select("kid").where("kid", "=", signer.kid).executeTakeFirst();
  if (known === undefined) {
    const row = {
      kid: signer.kid,
      public_key: base64url(signer.publicKey),
      first_used_at: at,
      last_started_at: at,
    };
    if (purpose === "tokens")
      await tx
        .insertInto("signing_keys")
        .values({ ...row, checkpoints_until_seq: 0 })
        .execute();
    else await tx.insertInto("checkpoint_signing_keys").values(row).execute();
  } else {
    await tx.updateTable(table).set({ last_started_at: at }).where("kid", "=", signer.kid).execute();
  }
  const change: KeyChange | undefined =
    previous === undefined
      ? created
        ? "key.created"
        : "key.installed"
      : previous.kid !== signer.kid
        ? "key.changed"
        : undefined;
  if (change !== undefined) {
    await appendAudit(
      tx,
      {
        actor: "system",
        action: ACTIONS[purpose][change],
        target: `key:${signer.kid}`,
        outcome: "success",
        details: { alg: "EdDSA", ...(previous !== undefined ? { previous_kid: previous.kid } : {}) },
      },
      now,
    );
  }
  return change;
}

/** Token keys used before the current one, newest first (never to be pinned again). */
export async function retiredSigningKeys(store: Store, currentKid: string): Promise<PublishedKey[]> {
  return store
    .selectFrom("signing_keys")
    .select(["kid", "public_key", "first_used_at"])
    .where("kid", "!=", currentKid)
    .orderBy("last_started_at", "desc")
    .execute();
}

/**
 * A key whose checkpoints verify: `until_seq` bounds a token key that signed them once, and a
 * checkpoint key since another replaced it (null: the current checkpoint key).
 */
export interface CheckpointKeyRow extends PublishedKey {
  readonly until_seq: number | null;
}

/**
 * Every key whose checkpoints verify, newest first: the checkpoint keys (retired ones bounded by
 * `until_seq`), then the token keys that signed checkpoints before the checkpoints had their own
 * (bounded by `until_seq`; `null`: a store whose token key still signs them, read by `audit
 * verify` before any newer start).
 */
export async function checkpointKeyRows(db: Tx | Store): Promise<CheckpointKeyRow[]> {
  const own = await db
    .selectFrom("checkpoint_signing_keys")
    .select(["kid", "public_key", "first_used_at", "until_seq"])
    .orderBy("last_started_at", "desc")
    .execute();
  const before = await db
    .selectFrom("signing_keys")
    .select(["kid", "public_key", "first_used_at", "checkpoints_until_seq"])
    .where((eb) => eb.or([eb("checkpoints_until_seq", "is", null), eb("checkpoints_until_seq", ">", 0)]))
    .orderBy("last_started_at", "desc")
    .execute();
  return [
    ...own,
    ...before.map(({ checkpoints_until_seq, ...k }) => ({ ...k, until_seq: checkpoints_until_seq })),
  ];
}
