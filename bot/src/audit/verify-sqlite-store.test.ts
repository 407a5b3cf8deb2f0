/**
 * The SQLite file fast path (verify-sqlite-store.ts) against the general way (the same store
 * verified inside a transaction, through audit-snapshot.ts and scanRetained): on a whole chain and
 * on every kind of edit someone with the file could make, the two give the same verdict.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import SqliteDatabase from "better-sqlite3";
import {
  memorySigner,
  signingKeyFromSecret,
  type AuditEventInput,
  type SignedCheckpoint,
} from "@dbward/shared";
import { recordSigningKeys } from "../keys/signing-key-history.ts";
import { takeCheckpoint } from "./audit-checkpoints.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { STORE_FILE, openStore, type Store } from "../store/open-store.ts";
import { appendAudit, verifyAuditStore } from "./audit-log.ts";
import { verifyStoreAgainstCheckpoints, verifyStoreWithItsCheckpoints } from "./verify-export.ts";
import { verifySqliteFileStore } from "./verify-sqlite-store.ts";

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);

function input(i: number): AuditEventInput {
  return {
    actor: i % 5 === 0 ? 'user:"quoted"' : `user:u${i % 7}`,
    action: i % 2 === 0 ? "request.created" : "request.approved",
    target: `request:${i}`,
    outcome: i % 3 === 0 ? "failure" : "success",
    // Some details are not plainly canonical text (an escape, a fraction): the reference way.
    details: i % 4 === 0 ? { i, note: "é\n", ratio: 0.5 } : { i, sql_sha256: "ab".repeat(32) },
  };
}

const EDITS: readonly (readonly [string, string])[] = [
  ["an edited actor", "UPDATE audit_events SET actor = 'user:mallory' WHERE seq = 7"],
  ["an edited details text", `UPDATE audit_events SET details = '{"i":8}' WHERE seq = 8`],
  ["details that are not JSON", "UPDATE audit_events SET details = 'nope' WHERE seq = 9"],
  ["a BLOB actor", "UPDATE audit_events SET actor = X'41' WHERE seq = 10"],
  ["a numeric hash", "UPDATE audit_events SET hash = 5 WHERE seq = 11"],
  ["an outcome that is not one", "UPDATE audit_events SET outcome = 'maybe' WHERE seq = 12"],
  ["a numeric time", "UPDATE audit_events SET time = 5 WHERE seq = 13"],
  ["a deleted event", "DELETE FROM audit_events WHERE seq = 14"],
  ["an edited prev_hash", "UPDATE audit_events SET prev_hash = hash WHERE seq = 15"],
  ["an edited hash", "UPDATE audit_events SET hash = prev_hash WHERE seq = 16"],
  ["the last event edited", "UPDATE audit_events SET target = 'x' WHERE seq = 40"],
  ["an event moved", "UPDATE audit_events SET seq = 100 WHERE seq = 20"],
  ["the oldest events deleted", "DELETE FROM audit_events WHERE seq <= 3"],
];

describe("audit verification from a SQLite file", () => {
  let dir: string;
  let store: Store;
  let raw: SqliteDatabase.Database;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "dbward-verify-sqlite-"));
    store = openStore(dir);
    raw = new SqliteDatabase(join(dir, STORE_FILE));
    await inTransaction(store, async (tx) => {
      for (let i = 1; i <= 40; i++) await appendAudit(tx, input(i), new Date(T0 + i * 1000));
    });
  });
  afterEach(async () => {
    raw.close();
    await store.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The verdict the general way gives: inside a transaction, the fast path does not apply. */
  const reference = (batchSize: number) => inTransaction(store, (tx) => verifyAuditStore(tx, batchSize));

  test("takes the fast path on a file, and gives the general way's verdict on a whole chain", async () => {
    for (const batchSize of [1, 7, 40, 5000]) {
      const fast = await verifySqliteFileStore(store, batchSize);
      assert.notEqual(fast, undefined);
      assert.deepEqual(fast, await reference(batchSize));
      assert.deepEqual(fast, { ok: true, count: 40, lastSeq: 40, lastHash: fast.ok ? fast.lastHash : "" });
    }
  });

  for (const [what, edit] of EDITS) {
    test(`reports ${what} as the general way does`, async () => {
      raw.exec(edit);
      for (const batchSize of [3, 5000]) {
        const fast = await verifySqliteFileStore(store, batchSize);
        assert.equal(fast?.ok, false, what);
        assert.deepEqual(fast, await reference(batchSize), what);
      }
    });
  }
});

describe("audit verification from a SQLite file, against signed checkpoints", () => {
  const tokens = memorySigner(signingKeyFromSecret(new Uint8Array(32).fill(3)), "tokens");
  const checkpoints = memorySigner(signingKeyFromSecret(new Uint8Array(32).fill(4)), "checkpoints");
  let dir: string;
  let store: Store;
  let raw: SqliteDatabase.Database;
  let signed: SignedCheckpoint[];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "dbward-verify-sqlite-cp-"));
    store = openStore(dir);
    raw = new SqliteDatabase(join(dir, STORE_FILE));
    const starting = { created: true, copyHint: "" };
    await recordSigningKeys(
      store,
      { tokens: { signer: tokens, ...starting }, checkpoints: { signer: checkpoints, ...starting } },
      new Date(T0),
    );
    signed = [];
    // Checkpoints after the 10th, 25th and 40th events (the keys' own events come first): the
    // edits below fall before, between and after them.
    for (const [from, to] of [
      [1, 10],
      [11, 25],
      [26, 40],
    ] as const) {
      await inTransaction(store, async (tx) => {
        for (let i = from; i <= to; i++) await appendAudit(tx, input(i), new Date(T0 + i * 1000));
      });
      const cp = await takeCheckpoint(store, checkpoints, new Date(T0 + to * 1000 + 500));
      if (cp !== undefined) signed.push(cp);
    }
  });
  afterEach(async () => {
    raw.close();
    await store.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const keys = () => ({
    byKid: new Map([[checkpoints.kid, { kid: checkpoints.kid, publicKey: checkpoints.publicKey }]]),
    anyKid: [],
  });
  /** Both checkpointed verifications, the fast way (on the file) and the general way. */
  const both = async () => ({
    fast: [
      await verifyStoreWithItsCheckpoints(store),
      await verifyStoreAgainstCheckpoints(store, keys(), signed),
    ],
    general: await inTransaction(store, async (tx) => [
      await verifyStoreWithItsCheckpoints(tx),
      await verifyStoreAgainstCheckpoints(tx, keys(), signed),
    ]),
  });

  test("passes a whole chain through each of its checkpoints, as the general way does", async () => {
    assert.equal(signed.length, 3);
    const { fast, general } = await both();
    assert.deepEqual(fast, general);
    for (const v of fast)
      assert.deepEqual(
        v.ok && v.checkpoints,
        signed.map((c) => c.seq),
      );
  });

  for (const [what, edit] of [
    ...EDITS,
    ["the newest events deleted back past a checkpoint", "DELETE FROM audit_events WHERE seq > 30"],
    [
      "a checkpoint's hash edited",
      "UPDATE audit_checkpoints SET hash = (SELECT hash FROM audit_events WHERE seq = 9) WHERE seq = (SELECT min(seq) FROM audit_checkpoints)",
    ],
    [
      "an event rewritten with its hashes recomputed but not its checkpoint's",
      "UPDATE audit_events SET hash = 'ff' || substr(hash, 3) WHERE seq = (SELECT min(seq) FROM audit_checkpoints)",
    ],
    [
      "the first event not an event, and a checkpoint's signature broken",
      "UPDATE audit_events SET details = 'nope' WHERE seq = 1; UPDATE audit_checkpoints SET signature = 'AAAA' WHERE seq = (SELECT max(seq) FROM audit_checkpoints)",
    ],
  ] as const) {
    test(`reports ${what} as the general way does`, async () => {
      raw.exec(edit);
      const { fast, general } = await both();
      assert.equal(fast[0]?.ok, false, what);
      assert.deepEqual(fast, general, what);
    });
  }
});
