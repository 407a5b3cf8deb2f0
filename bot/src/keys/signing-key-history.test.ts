import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  DbwardError,
  base64url,
  generateSigningKey,
  memorySigner,
  verifyCheckpointSignature,
  type SigningKey,
} from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import { listAudit } from "../audit/audit-log.ts";
import { storedPublicKeys, takeCheckpoint } from "../audit/audit-checkpoints.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { openStore, type Store } from "../store/open-store.ts";
import { checkpointKeyRows, recordSigningKeys, retiredSigningKeys } from "./signing-key-history.ts";

const at = (minute: number): Date => new Date(Date.UTC(2026, 10, 24, 12, minute));
const starting = (tokens: SigningKey, checkpoints: SigningKey, created = false) => ({
  tokens: { signer: memorySigner(tokens, "tokens"), created, copyHint: "copy signing-key.json" },
  checkpoints: {
    signer: memorySigner(checkpoints, "checkpoints"),
    created,
    copyHint: "copy signing-key.json",
  },
});

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
  const ca = generateSigningKey();
  const cb = generateSigningKey();
  const keyEvents = async (store: Store, prefix = "key.") =>
    (await listAudit(store))
      .filter((e) => e.action.startsWith(prefix))
      .map((e) => [e.action, e.target, e.details.previous_kid ?? null]);

  let store: Store;
  before(() => {
    store = fresh();
  });

  test("generated first keys are audited as created, each under its purpose; restarts record nothing", async () => {
    assert.deepEqual(await recordSigningKeys(store, starting(a, ca, true), at(0)), {
      tokens: "key.created",
      checkpoints: "key.created",
    });
    assert.deepEqual(await recordSigningKeys(store, starting(a, ca), at(1)), {
      tokens: undefined,
      checkpoints: undefined,
    });
    assert.deepEqual(await keyEvents(store), [["key.created", `key:${a.kid}`, null]]);
    assert.deepEqual(await keyEvents(store, "checkpoint_key."), [
      ["checkpoint_key.created", `key:${ca.kid}`, null],
    ]);
    assert.deepEqual(await retiredSigningKeys(store, a.kid), []);
  });

  test("a different key is a change naming the previous one; the old key is listed as retired", async () => {
    assert.deepEqual(await recordSigningKeys(store, starting(b, ca), at(2)), {
      tokens: "key.changed",
      checkpoints: undefined,
    });
    assert.deepEqual((await keyEvents(store)).at(-1), ["key.changed", `key:${b.kid}`, a.kid]);
    assert.deepEqual(await retiredSigningKeys(store, b.kid), [
      { kid: a.kid, public_key: base64url(a.publicKey), first_used_at: at(0).toISOString() },
    ]);
  });

  test("a new checkpoint key is a checkpoint_key change; both stay trusted for checkpoints, no token key is", async () => {
    assert.equal((await recordSigningKeys(store, starting(b, cb), at(3))).checkpoints, "key.changed");
    assert.deepEqual((await keyEvents(store, "checkpoint_key.")).at(-1), [
      "checkpoint_key.changed",
      `key:${cb.kid}`,
      ca.kid,
    ]);
    const trusted = await storedPublicKeys(store);
    assert.deepEqual([...trusted.byKid.keys()].sort(), [ca.kid, cb.kid].sort());
  });

  test("going back to an older key is a change too", async () => {
    assert.equal((await recordSigningKeys(store, starting(a, cb), at(4))).tokens, "key.changed");
    assert.deepEqual((await keyEvents(store)).at(-1), ["key.changed", `key:${a.kid}`, b.kid]);
  });

  test("a key that signed tokens is refused as the checkpoint key, and the reverse, with nothing recorded", async () => {
    const before = (await listAudit(store)).length;
    await assert.rejects(
      recordSigningKeys(store, starting(a, b), at(5)),
      (err: unknown) => err instanceof DbwardError && /already signed execution tokens/.test(err.message),
    );
    await assert.rejects(
      recordSigningKeys(store, starting(ca, cb), at(5)),
      (err: unknown) => err instanceof DbwardError && /already signed audit checkpoints/.test(err.message),
    );
    assert.equal((await listAudit(store)).length, before);
  });

  test("key files the operator put in place before the first start are audited as installed", async () => {
    const other = fresh();
    assert.deepEqual(await recordSigningKeys(other, starting(b, cb), at(0)), {
      tokens: "key.installed",
      checkpoints: "key.installed",
    });
    assert.deepEqual(await keyEvents(other), [["key.installed", `key:${b.kid}`, null]]);
  });

  test("an instance of shared state that generated its own checkpoint key is refused", async () => {
    const other = fresh();
    await recordSigningKeys(other, starting(a, ca, true), at(0), true);
    await assert.rejects(
      recordSigningKeys(
        other,
        {
          tokens: { signer: memorySigner(a, "tokens"), created: false, copyHint: "" },
          checkpoints: { signer: memorySigner(cb, "checkpoints"), created: true, copyHint: "copy the file" },
        },
        at(1),
        true,
      ),
      (err: unknown) =>
        err instanceof DbwardError &&
        new RegExp(`already signs with key ${ca.kid}.*copy the file`).test(err.message),
    );
  });

  test("an upgraded store: the key that signed both keeps verifying its old checkpoints, and no newer one", async () => {
    const old = fresh();
    // A store as a bot before the split left it: one key row, no bound, a checkpoint it signed.
    await old
      .insertInto("signing_keys")
      .values({
        kid: a.kid,
        public_key: base64url(a.publicKey),
        first_used_at: at(0).toISOString(),
        last_started_at: at(0).toISOString(),
        checkpoints_until_seq: null,
      })
      .execute();
    const event = () =>
      inTransaction(old, (tx) =>
        appendAudit(
          tx,
          { actor: "system", action: "config.reloaded", target: "", outcome: "success", details: {} },
          at(1),
        ),
      );
    await event();
    await event();
    const legacy = memorySigner(a, "checkpoints");
    const before = await takeCheckpoint(old, legacy, at(2));
    assert.ok(before !== undefined);
    assert.equal((await checkpointKeyRows(old))[0]?.until_seq, null, "before the split the bound is open");

    await recordSigningKeys(old, starting(a, ca), at(3));
    await event();
    const forged = await takeCheckpoint(old, legacy, at(4));
    assert.ok(forged !== undefined && forged.seq > before.seq);
    const trusted = await storedPublicKeys(old);
    assert.equal(trusted.byKid.get(a.kid)?.untilSeq, before.seq);
    assert.deepEqual(verifyCheckpointSignature(before, trusted), { ok: true });
    const refused = verifyCheckpointSignature(forged, trusted);
    assert.equal(refused.ok, false);
    assert.match(refused.ok ? "" : refused.message, new RegExp(`only up to sequence ${before.seq}`));
    // The token key now on it and a later token key sign none: neither is trusted for one.
    await recordSigningKeys(old, starting(b, ca), at(5));
    assert.equal((await storedPublicKeys(old)).byKid.has(b.kid), false);
  });
});
