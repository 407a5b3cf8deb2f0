import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { base64url, generateSigningKey } from "@dbward/shared";
import { listAudit } from "../audit/audit-log.ts";
import { openStore, type Store } from "../store/open-store.ts";
import { recordSigningKey, retiredSigningKeys } from "./signing-key-history.ts";

describe("the signing key history", () => {
  const dirs: string[] = [];
  const stores: Store[] = [];
  const fresh = (): Store => {
    const dir = mkdtempSync(join(tmpdir(), "dbward-keys-"));
    dirs.push(dir);
    const store = openStore(dir);
    stores.push(store);
    return store;
  };
  after(async () => {
    for (const s of stores) await s.destroy();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const a = generateSigningKey();
  const b = generateSigningKey();
  const at = (minute: number): Date => new Date(Date.UTC(2026, 10, 24, 12, minute));
  const keyEvents = async (store: Store) =>
    (await listAudit(store))
      .filter((e) => e.action.startsWith("key."))
      .map((e) => [e.action, e.target, e.details.previous_kid ?? null]);

  let store: Store;
  before(() => {
    store = fresh();
  });

  test("a generated first key is audited as created; restarts with it record nothing", async () => {
    assert.equal(await recordSigningKey(store, a, true, at(0)), "key.created");
    assert.equal(await recordSigningKey(store, a, false, at(1)), undefined);
    assert.deepEqual(await keyEvents(store), [["key.created", `key:${a.kid}`, null]]);
    assert.deepEqual(await retiredSigningKeys(store, a.kid), []);
  });

  test("a different key is a change naming the previous one; the old key is listed as retired", async () => {
    assert.equal(await recordSigningKey(store, b, false, at(2)), "key.changed");
    assert.deepEqual((await keyEvents(store)).at(-1), ["key.changed", `key:${b.kid}`, a.kid]);
    assert.deepEqual(await retiredSigningKeys(store, b.kid), [
      { kid: a.kid, public_key: base64url(a.publicKey), first_used_at: at(0).toISOString() },
    ]);
  });

  test("going back to an older key is a change too", async () => {
    assert.equal(await recordSigningKey(store, a, false, at(3)), "key.changed");
    assert.deepEqual((await keyEvents(store)).at(-1), ["key.changed", `key:${a.kid}`, b.kid]);
    assert.deepEqual(
      (await retiredSigningKeys(store, a.kid)).map((k) => k.kid),
      [b.kid],
    );
  });

  test("a key file the operator put in place before the first start is audited as installed", async () => {
    const other = fresh();
    assert.equal(await recordSigningKey(other, b, false, at(0)), "key.installed");
    assert.deepEqual(await keyEvents(other), [["key.installed", `key:${b.kid}`, null]]);
  });
});
