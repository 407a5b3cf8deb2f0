/**
 * What a start does with the state store's encryption (docs/security-hardening.md, "Encrypted
 * state at rest"), decided before anything else reads or writes it:
 *
 * | store holds data keys | DBWARD_STATE_KEY | outcome                                                   |
 * |-----------------------|------------------|-----------------------------------------------------------|
 * | no                    | unset            | a clear store, as before                                  |
 * | no                    | set              | a data key is made, wrapped, stored: new values encrypted |
 * | yes                   | unset            | refused: state.key_missing                                |
 * | yes                   | wraps them       | unlocked                                                  |
 * | yes                   | does not         | DBWARD_STATE_KEY_PREVIOUS wraps them: re-wrapped with the |
 * |                       |                  | new key (rotation, no data rewritten); else state.key_wrong |
 *
 * Making and re-wrapping keys run in one transaction under the store's write lock with their
 * audit event, so two instances starting at once make one key and re-wrap it once.
 */
import { randomBytes } from "node:crypto";
import { appendAudit } from "../audit/audit-log.ts";
import { inTransaction, type Tx } from "../store/in-transaction.ts";
import type { Store } from "../store/open-store.ts";
import {
  insertStateKey,
  listStateKeys,
  rewrapStateKey,
  type StoredDataKey,
} from "../store/state-keys-repo.ts";
import type { KekSource, KeyEncryptionKey } from "./key-encryption-key.ts";
import { KEY_ID_BYTES } from "./sealed-value.ts";
import { StateCipher } from "./state-cipher.ts";

/** The store as the rest of the bot uses it: carrying its data keys when it is encrypted. */
export async function unlockStateStore(store: Store, kek: KekSource, now: Date): Promise<Store> {
  if (kek.current === undefined && kek.previous !== undefined)
    throw new Error(
      "config.invalid: DBWARD_STATE_KEY_PREVIOUS is set without DBWARD_STATE_KEY: rotation needs the new key too",
    );
  let stored = await listStateKeys(store);
  if (stored.length === 0 && kek.current === undefined) return store;
  const current = kek.current;
  if (current === undefined)
    throw new Error(
      "state.key_missing: the state store is encrypted (it holds wrapped data keys) and DBWARD_STATE_KEY is not set; start with the key it was encrypted with (DBWARD_STATE_KEY or DBWARD_STATE_KEY_FILE)",
    );
  if (stored.length === 0) stored = await createFirstKey(store, current, now);
  if (stored.some((k) => k.kekId !== current.id)) stored = await rewrap(store, kek, now);
  const keys = new Map<string, Buffer>();
  for (const k of stored) keys.set(k.keyId, await unwrapWith(current, k));
  const active = stored.find((k) => k.active) ?? stored[stored.length - 1];
  if (active === undefined) throw new Error("state.key_missing: the state store has no active data key");
  return store.withPlugin(new StateCipher(keys, active.keyId));
}

async function createFirstKey(store: Store, kek: KeyEncryptionKey, now: Date): Promise<StoredDataKey[]> {
  return inTransaction(store, async (tx) => {
    const meanwhile = await listStateKeys(tx);
    if (meanwhile.length > 0) return meanwhile;
    const keyId = randomBytes(KEY_ID_BYTES).toString("hex");
    const key = { keyId, kekId: kek.id, wrapped: await kek.wrap(keyId, randomBytes(32)), active: true };
    await insertStateKey(tx, key, now.toISOString());
    await audit(tx, "state.key_created", keyId, { kek_id: kek.id }, now);
    return [key];
  });
}

/** Re-wraps every data key the previous KEK wraps with the current one; refuses any other. */
async function rewrap(store: Store, kek: KekSource, now: Date): Promise<StoredDataKey[]> {
  const current = kek.current as KeyEncryptionKey;
  return inTransaction(store, async (tx) => {
    const keys = await listStateKeys(tx);
    const out: StoredDataKey[] = [];
    for (const k of keys) {
      if (k.kekId === current.id) {
        out.push(k);
        continue;
      }
      const previous = kek.previous;
      if (previous === undefined || previous.id !== k.kekId)
        throw new Error(
          `state.key_wrong: DBWARD_STATE_KEY (key ${current.id}) does not open this state store: its data key ${k.keyId} is wrapped by key ${k.kekId}. Start with that key, or to rotate to a new one set it as DBWARD_STATE_KEY_PREVIOUS beside the new DBWARD_STATE_KEY`,
        );
      const wrapped = await current.wrap(k.keyId, await unwrapWith(previous, k));
      if (
        !(await rewrapStateKey(tx, k.keyId, previous.id, { kekId: current.id, wrapped }, now.toISOString()))
      )
        throw new Error(`state key ${k.keyId} changed while it was being re-wrapped; start again`);
      await audit(
        tx,
        "state.key_rewrapped",
        k.keyId,
        { kek_id: current.id, previous_kek_id: previous.id },
        now,
      );
      out.push({ ...k, kekId: current.id, wrapped });
    }
    return out;
  });
}

async function unwrapWith(kek: KeyEncryptionKey, k: StoredDataKey): Promise<Buffer> {
  try {
    return await kek.unwrap(k.keyId, k.wrapped);
  } catch {
    throw new Error(
      `state.key_wrong: the data key ${k.keyId} does not unwrap with key ${kek.id} (its wrapped bytes were changed, or the key is not the one named)`,
    );
  }
}

async function audit(
  tx: Tx,
  action: "state.key_created" | "state.key_rewrapped",
  keyId: string,
  details: Record<string, string>,
  now: Date,
): Promise<void> {
  await appendAudit(
    tx,
    { actor: "system", action, target: `state_key:${keyId}`, outcome: "success", details },
    now,
  );
}
