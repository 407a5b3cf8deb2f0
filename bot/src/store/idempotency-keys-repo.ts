/**
 * The `Idempotency-Key`s of request creation (docs/api.md#idempotency-key): per requester, the one
 * request a key created and the SHA-256 of the canonical body that created it. A key is
 * remembered for IDEMPOTENCY_KEY_TTL_MS; an older row is as good as gone, and expired rows are
 * deleted whenever a key is stored, in that same transaction (no sweep needed).
 */
import { IDEMPOTENCY_KEY_TTL_MS, parseRequestId, type RequestId } from "@dbward/shared";
import type { Tx } from "./in-transaction.ts";
import type { Store } from "./open-store.ts";

export interface IdempotencyKeyRecord {
  readonly requester: string;
  readonly key: string;
  readonly bodySha256: string;
  readonly requestId: RequestId;
  readonly createdAt: string;
}

/** Rows created before this time have expired. */
function expiryCutoff(now: Date): string {
  return new Date(now.getTime() - IDEMPOTENCY_KEY_TTL_MS).toISOString();
}

/** The live key `requester` used, or undefined when unused or expired. */
export async function findIdempotencyKey(
  db: Store | Tx,
  requester: string,
  key: string,
  now: Date,
): Promise<IdempotencyKeyRecord | undefined> {
  const row = await db
    .selectFrom("idempotency_keys")
    .selectAll()
    .where("requester", "=", requester)
    .where("key", "=", key)
    .where("created_at", ">", expiryCutoff(now))
    .executeTakeFirst();
  if (row === undefined) return undefined;
  const requestId = parseRequestId(row.request_id);
  if (requestId === undefined) throw new Error(`idempotency key row has a bad request id: ${row.request_id}`);
  return {
    requester: row.requester,
    key: row.key,
    bodySha256: row.body_sha256,
    requestId,
    createdAt: row.created_at,
  };
}

/**
 * Stores a key for the request `tx` just created, after deleting every expired key. False when
 * the requester already holds this key live: the caller must then roll its transaction back.
 */
export async function storeIdempotencyKey(tx: Tx, record: IdempotencyKeyRecord, now: Date): Promise<boolean> {
  await tx.deleteFrom("idempotency_keys").where("created_at", "<=", expiryCutoff(now)).execute();
  const inserted = await tx
    .insertInto("idempotency_keys")
    .values({
      requester: record.requester,
      key: record.key,
      body_sha256: record.bodySha256,
      request_id: record.requestId,
      created_at: record.createdAt,
    })
    .onConflict((oc) => oc.columns(["requester", "key"]).doNothing())
    .executeTakeFirst();
  return (inserted.numInsertedOrUpdatedRows ?? 0n) > 0n;
}
