/**
 * The signing keys this bot has started with. The key file can be replaced between starts (key
 * rotation, a restore, or someone who should not); the state store remembers every key id, so
 * the start that brings a different key records it in the audit chain, in the same transaction,
 * and the retired public keys stay available to verify the checkpoints they signed.
 */
import { DbwardError, base64url, type SigningKey } from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import { inTransaction } from "../store/in-transaction.ts";
import type { Store } from "../store/open-store.ts";

/** How this start's key relates to the ones before it. */
export type KeyChange =
  /** Generated at this start: the first key of a new bot. */
  | "key.created"
  /** The first key this state store sees, installed by the operator rather than generated. */
  | "key.installed"
  /** Differs from the key of the previous start (a rotation, or a return to an older key). */
  | "key.changed";

export interface PublishedKey {
  readonly kid: string;
  readonly public_key: string;
  readonly first_used_at: string;
}

/**
 * Records this start's key; appends an audit event when the key is new or changed. `shared`: the
 * store is shared by several instances (PostgreSQL state), where a key generated at this start
 * while the store already knows one means this instance is missing the shared key file: it would
 * sign tokens no agent pins, so the start is refused instead (checked inside the transaction, so
 * instances starting at once on an empty store let exactly one generate).
 */
export async function recordSigningKey(
  store: Store,
  key: SigningKey,
  created: boolean,
  now: Date,
  shared = false,
): Promise<KeyChange | undefined> {
  const at = now.toISOString();
  return inTransaction(store, async (tx) => {
    const previous = await tx
      .selectFrom("signing_keys")
      .select(["kid"])
      .orderBy("last_started_at", "desc")
      .orderBy("first_used_at", "desc")
      .limit(1)
      .executeTakeFirst();
    if (shared && created && previous !== undefined && previous.kid !== key.kid) {
      throw new DbwardError(
        "config.invalid",
        `this instance has no signing key file and generated one, but the shared state already signs with key ${previous.kid}: every instance must use the same key; copy signing-key.json from another instance into this instance's data directory`,
      );
    }
    const known = await tx
      .selectFrom("signing_keys")
      .select("kid")
      .where("kid", "=", key.kid)
      .executeTakeFirst();
    if (known === undefined) {
      await tx
        .insertInto("signing_keys")
        .values({
          kid: key.kid,
          public_key: base64url(key.publicKey),
          first_used_at: at,
          last_started_at: at,
        })
        .execute();
    } else {
      await tx.updateTable("signing_keys").set({ last_started_at: at }).where("kid", "=", key.kid).execute();
    }
    const change: KeyChange | undefined =
      previous === undefined
        ? created
          ? "key.created"
          : "key.installed"
        : previous.kid !== key.kid
          ? "key.changed"
          : undefined;
    if (change !== undefined) {
      await appendAudit(
        tx,
        {
          actor: "system",
          action: change,
          target: `key:${key.kid}`,
          outcome: "success",
          details: { alg: "EdDSA", ...(previous !== undefined ? { previous_kid: previous.kid } : {}) },
        },
        now,
      );
    }
    return change;
  });
}

/** Keys used before the current one, newest first: what old checkpoints verify with. */
export async function retiredSigningKeys(store: Store, currentKid: string): Promise<PublishedKey[]> {
  return store
    .selectFrom("signing_keys")
    .select(["kid", "public_key", "first_used_at"])
    .where("kid", "!=", currentKid)
    .orderBy("last_started_at", "desc")
    .execute();
}
