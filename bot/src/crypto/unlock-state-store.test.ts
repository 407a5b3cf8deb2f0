import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { describeEachStoreDialect } from "../store/each-store-dialect-testing.ts";
import { inTransaction } from "../store/in-transaction.ts";
import type { Store } from "../store/open-store.ts";
import { listStateKeys } from "../store/state-keys-repo.ts";
import { kekFromEnvironment, type KekSource } from "./key-encryption-key.ts";
import { SEALED_TEXT_PREFIX, sealedKeyId } from "./sealed-value.ts";
import { openValue, sealValue, stateCipherOf } from "./state-cipher.ts";
import { unlockStateStore } from "./unlock-state-store.ts";

const K1 = randomBytes(32).toString("base64");
const K2 = randomBytes(32).toString("base64");
const now = new Date("2026-12-03T12:00:00.000Z");
const kek = (env: Record<string, string>): KekSource => kekFromEnvironment(env);
const seal = (store: Store, place: string, text: string): Promise<string> =>
  inTransaction(store, (tx) => sealValue(tx, place, text));
const actions = async (store: Store): Promise<string[]> =>
  (await store.selectFrom("audit_events").select("action").orderBy("seq").execute()).map((r) => r.action);

describeEachStoreDialect(
  "unlocking the state store",
  (store) => {
    test("without a key a store with no data key stays clear, as before", async () => {
      const s = await unlockStateStore(store(), kek({}), now);
      assert.equal(stateCipherOf(s), undefined);
      assert.equal(await seal(s, "requests.reason:1", "plain"), "plain");
      assert.deepEqual(await listStateKeys(s), []);
    });

    test("with DBWARD_STATE_KEY the first start makes one wrapped data key, audited, and seals new values", async () => {
      const [a, b] = await Promise.all([
        unlockStateStore(store(), kek({ DBWARD_STATE_KEY: K1 }), now),
        unlockStateStore(store(), kek({ DBWARD_STATE_KEY: K1 }), now),
      ]);
      assert.ok(a !== undefined && b !== undefined);
      const keys = await listStateKeys(store());
      assert.equal(keys.length, 1, "two starts at once make one key");
      assert.deepEqual(await actions(store()), ["state.key_created"]);
      const sealed = await seal(a, "requests.reason:1", "why it runs");
      assert.ok(!sealed.includes("why it runs"));
      assert.equal(openValue(b, "requests.reason:1", sealed), "why it runs");
      // Encrypted before its first row: a clear value in it can only be a downgrade.
      assert.throws(
        () => openValue(a, "requests.reason:1", "put in place of the sealed value"),
        /state\.undecryptable: .*requests\.reason:1 .*a clear value where this store keeps every value sealed/,
      );
    });

    test("an encrypted store refuses a start without its key, or with another, and a keyless handle never writes clear", async () => {
      const unlocked = await unlockStateStore(store(), kek({ DBWARD_STATE_KEY: K1 }), now);
      const sealed = await seal(unlocked, "requests.sql_text:1", "SELECT 1");
      await assert.rejects(
        () => unlockStateStore(store(), kek({}), now),
        /state\.key_missing: .*DBWARD_STATE_KEY is not set/,
      );
      await assert.rejects(
        () => unlockStateStore(store(), kek({ DBWARD_STATE_KEY: K2 }), now),
        /state\.key_wrong: DBWARD_STATE_KEY \(key [0-9a-f]{16}\) does not open this state store/,
      );
      await assert.rejects(() => seal(store(), "requests.sql_text:2", "SELECT 2"), /state\.key_missing/);
      assert.throws(() => openValue(store(), "requests.sql_text:1", sealed), /state\.key_missing/);
    });

    test("rotation: the previous key beside a new one re-wraps the data key, rewrites no value, and the old key alone no longer opens", async () => {
      const first = await unlockStateStore(store(), kek({ DBWARD_STATE_KEY: K1 }), now);
      const sealed = await seal(first, "executions.result_json:1-1", '[{"v":"row"}]');
      const [before] = await listStateKeys(store());
      const rotated = await unlockStateStore(
        store(),
        kek({ DBWARD_STATE_KEY: K2, DBWARD_STATE_KEY_PREVIOUS: K1 }),
        now,
      );
      const keys = await listStateKeys(store());
      const after = keys.find((k) => k.keyId === before?.keyId);
      assert.ok(before !== undefined && after !== undefined);
      assert.notEqual(after.kekId, before.kekId, "the old data key is wrapped by the new key");
      assert.equal(after.active, false, "and seals nothing new");
      // A fresh data key seals what is written from now on: the retired KEK with an earlier copy
      // of state_keys opens none of it.
      const fresh = keys.find((k) => k.keyId !== before.keyId);
      assert.ok(fresh !== undefined && fresh.active && fresh.kekId === after.kekId);
      const newer = await seal(rotated, "executions.result_json:2-1", '[{"v":"later"}]');
      assert.equal(sealedKeyId(Buffer.from(newer.slice(SEALED_TEXT_PREFIX.length), "base64")), fresh.keyId);
      assert.equal(openValue(rotated, "executions.result_json:1-1", sealed), '[{"v":"row"}]');
      assert.deepEqual(await actions(store()), [
        "state.key_created",
        "state.key_rewrapped",
        "state.key_created",
      ]);
      await assert.rejects(
        () => unlockStateStore(store(), kek({ DBWARD_STATE_KEY: K1 }), now),
        /state\.key_wrong/,
      );
      const again = await unlockStateStore(store(), kek({ DBWARD_STATE_KEY: K2 }), now);
      assert.equal(openValue(again, "executions.result_json:1-1", sealed), '[{"v":"row"}]');
      // Both keys again (an instance restarted before the others heard): nothing left to re-wrap.
      await unlockStateStore(store(), kek({ DBWARD_STATE_KEY: K2, DBWARD_STATE_KEY_PREVIOUS: K1 }), now);
      assert.equal((await actions(store())).length, 3);
    });

    test("two instances rotating at once: both start, the data key is re-wrapped once and one fresh key made", async () => {
      const first = await unlockStateStore(store(), kek({ DBWARD_STATE_KEY: K1 }), now);
      const sealed = await seal(first, "requests.reason:7", "before the rotation");
      const both = kek({ DBWARD_STATE_KEY: K2, DBWARD_STATE_KEY_PREVIOUS: K1 });
      const [a, b] = await Promise.all([
        unlockStateStore(store(), both, now),
        unlockStateStore(store(), both, now),
      ]);
      assert.deepEqual(await actions(store()), [
        "state.key_created",
        "state.key_rewrapped",
        "state.key_created",
      ]);
      const keys = await listStateKeys(store());
      assert.equal(keys.length, 2);
      assert.equal(keys.filter((k) => k.active).length, 1, "one active key");
      assert.equal(stateCipherOf(a)?.activeKeyId, stateCipherOf(b)?.activeKeyId, "both seal with it");
      assert.equal(openValue(b, "requests.reason:7", sealed), "before the rotation");
    });

    test("a previous key without a current one is a config error", async () => {
      await assert.rejects(
        () => unlockStateStore(store(), kek({ DBWARD_STATE_KEY_PREVIOUS: K1 }), now),
        /DBWARD_STATE_KEY_PREVIOUS is set without DBWARD_STATE_KEY/,
      );
    });
  },
  { freshStoreEachTest: true },
);
