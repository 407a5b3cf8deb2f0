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
import type { AuditEventInput } from "@dbward/shared";
import { inTransaction } from "../store/in-transaction.ts";
import { STORE_FILE, openStore, type Store } from "../store/open-store.ts";
import { appendAudit, verifyAuditStore } from "./audit-log.ts";
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
