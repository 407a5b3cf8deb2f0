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
import { sql } from "kysely";
import { appendAudit } from "../audit/audit-log.ts";
import { inTransaction, type Tx } from "../store/in-transaction.ts";
import type { Store } from "../store/open-store.ts";
import {
  activateOnly,
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
  let allSealed = false;
  for (const k of stored) {
    const opened = openDataKey(await unwrapWith(current, k));
    keys.set(k.keyId, opened.key);
    allSealed ||= opened.allSealed;
  }
  const active = stored.find((k) => k.active) ?? stored[stored.length - 1];
  if (active === undefined) throw new Error("state.key_missing: the state store has no active data key");
  return store.withPlugin(new StateCipher(keys, active.keyId, allSealed));
}

/**
 * What a KEK wraps: the 32-byte data key, then one byte ALL_SEALED once every value of the store
 * is sealed (StateCipher.allSealed). Inside the wrapped bytes, the flag is authenticated by the
 * KEK: someone holding the file cannot clear it to have a clear value read in place of a sealed
 * one. A data key wrapped before the flag existed is 32 bytes: the store reads clear values.
 */
const DATA_KEY_BYTES = 32;
const ALL_SEALED = 0x01;

function openDataKey(unwrapped: Buffer): { key: Buffer; allSealed: boolean } {
  if (unwrapped.length === DATA_KEY_BYTES) return { key: unwrapped, allSealed: false };
  if (unwrapped.length === DATA_KEY_BYTES + 1 && unwrapped[DATA_KEY_BYTES] === ALL_SEALED)
    return { key: unwrapped.subarray(0, DATA_KEY_BYTES), allSealed: true };
  throw new Error(
    `state.key_wrong: a data key of the state store has an unknown form (${unwrapped.length} bytes)`,
  );
}

// The tables whose rows hold sealed values: a store with none of them holds no clear value.
const SEALED_TABLES = [
  "requests",
  "approvals",
  "executions",
  "preflights",
  "slack_outbox",
  "result_chunks",
  "join_requests",
  "step_up_challenges",
] as const;

async function holdsNoClearValue(tx: Tx): Promise<boolean> {
  for (const t of SEALED_TABLES)
    if (
      (await tx
        .selectFrom(t)
        .select(sql<number>`1`.as("one"))
        .limit(1)
        .executeTakeFirst()) !== undefined
    )
      return false;
  return true;
}

/**
 * Records, inside every data key's wrapping, that the store now seals every value: `dbward state
 * encrypt` calls it once it found no clear value left. Compare-and-set on the wrapped bytes.
 */
export async function markAllSealed(store: Store, kek: KeyEncryptionKey, now: Date): Promise<void> {
  await inTransaction(store, async (tx) => {
    for (const k of await listStateKeys(tx)) {
      const opened = openDataKey(await unwrapWith(kek, k));
      if (opened.allSealed) continue;
      const wrapped = await kek.wrap(k.keyId, Buffer.concat([opened.key, Buffer.from([ALL_SEALED])]));
      if (!(await rewrapStateKey(tx, k.keyId, kek.id, { kekId: kek.id, wrapped }, now.toISOString())))
        throw new Error(
          `state key ${k.keyId} changed while it was being marked; run dbward state encrypt again`,
        );
    }
    await appendAudit(
      tx,
      { actor: "system", action: "state.all_sealed", target: "state", outcome: "success", details: {} },
      now,
    );
  });
}

async function createFirstKey(store: Store, kek: KeyEncryptionKey, now: Date): Promise<StoredDataKey[]> {
  return inTransaction(store, async (tx) => {
    const meanwhile = await listStateKeys(tx);
    if (meanwhile.length > 0) return meanwhile;
    const keyId = randomBytes(KEY_ID_BYTES).toString("hex");
    // A store encrypted before its first sealed row seals every value from then on.
    const clear = randomBytes(DATA_KEY_BYTES);
    const plain = (await holdsNoClearValue(tx)) ? Buffer.concat([clear, Buffer.from([ALL_SEALED])]) : clear;
    const key = { keyId, kekId: kek.id, wrapped: await kek.wrap(keyId, plain), active: true };
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
    if (out.every((k, i) => k === keys[i])) return out;
    // A rotation also starts a fresh data key for new values: re-wrapping alone leaves the old
    // data key in place, so the retired KEK with any earlier copy of state_keys (a backup) would
    // open what is written from now on too. Old values stay under their own keys, still readable.
    let allSealed = false;
    for (const k of out) allSealed ||= openDataKey(await unwrapWith(current, k)).allSealed;
    const keyId = randomBytes(KEY_ID_BYTES).toString("hex");
    const fresh = randomBytes(DATA_KEY_BYTES);
    const plain = allSealed ? Buffer.concat([fresh, Buffer.from([ALL_SEALED])]) : fresh;
    const added = { keyId, kekId: current.id, wrapped: await current.wrap(keyId, plain), active: true };
    await insertStateKey(tx, added, now.toISOString());
    await activateOnly(tx, keyId);
    await audit(tx, "state.key_created", keyId, { kek_id: current.id, rotation: "true" }, now);
    return [...out.map((k) => ({ ...k, active: false })), added];
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
