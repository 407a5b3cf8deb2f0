/**
 * The wrapped data keys of the encrypted state (schema.sql `state_keys`). Only wrapped bytes are
 * stored: unwrapping needs the key-encryption key, which the store never holds.
 */
import type { Kysely } from "kysely";
import type { Tx } from "./in-transaction.ts";
import type { Database } from "./tables.ts";

type Db = Kysely<Database> | Tx;

export interface StoredDataKey {
  readonly keyId: string;
  readonly kekId: string;
  readonly wrapped: Buffer;
  readonly active: boolean;
}

export async function listStateKeys(db: Db): Promise<StoredDataKey[]> {
  const rows = await db
    .selectFrom("state_keys")
    .selectAll()
    .orderBy("created_at")
    .orderBy("key_id")
    .execute();
  return rows.map((r) => ({ keyId: r.key_id, kekId: r.kek_id, wrapped: r.wrapped, active: r.active === 1 }));
}

/** True when the store holds a data key: then it is encrypted, and nothing goes into it in the clear. */
export async function hasStateKeys(db: Db): Promise<boolean> {
  return (await db.selectFrom("state_keys").select("key_id").limit(1).executeTakeFirst()) !== undefined;
}

export async function insertStateKey(tx: Tx, k: StoredDataKey, at: string): Promise<void> {
  await tx
    .insertInto("state_keys")
    .values({
      key_id: k.keyId,
      kek_id: k.kekId,
      wrapped: k.wrapped,
      active: k.active ? 1 : 0,
      created_at: at,
      wrapped_at: at,
    })
    .execute();
}

/** Compare-and-set: re-wraps key `keyId` if `fromKek` still wraps it; false when another start did. */
export async function rewrapStateKey(
  tx: Tx,
  keyId: string,
  fromKek: string,
  to: { kekId: string; wrapped: Buffer },
  at: string,
): Promise<boolean> {
  const r = await tx
    .updateTable("state_keys")
    .set({ kek_id: to.kekId, wrapped: to.wrapped, wrapped_at: at })
    .where("key_id", "=", keyId)
    .where("kek_id", "=", fromKek)
    .executeTakeFirst();
  return r.numUpdatedRows === 1n;
}

/** Makes `keyId` the one data key new values are sealed with (a rotation's fresh key). */
export async function activateOnly(tx: Tx, keyId: string): Promise<void> {
  await tx.updateTable("state_keys").set({ active: 0 }).where("key_id", "<>", keyId).execute();
  await tx.updateTable("state_keys").set({ active: 1 }).where("key_id", "=", keyId).execute();
}
