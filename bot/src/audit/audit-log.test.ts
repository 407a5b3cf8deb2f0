import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import SqliteDatabase from "better-sqlite3";
import { createHash } from "node:crypto";
import {
  GENESIS_HASH,
  canonicalJson,
  hashAuditEvent,
  type AuditEventInput,
  type AuditOutcome,
} from "@dbward/shared";
import { appendAtOnce } from "../../../test/support/audit-appenders.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { STORE_FILE, openStore, openStoreFile, type Store } from "../store/open-store.ts";
import { appendAudit, listAudit, verifyAuditStore } from "./audit-log.ts";

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);

function input(i: number): AuditEventInput {
  return {
    actor: `user:u${i % 7}`,
    action: i % 2 === 0 ? "request.created" : "request.approved",
    target: `request:${i}`,
    outcome: "success",
    details: { i, sql_sha256: "ab".repeat(32) },
  };
}

async function appendMany(store: Store, from: number, count: number): Promise<void> {
  await inTransaction(store, async (tx) => {
    for (let i = from; i < from + count; i++) await appendAudit(tx, input(i), new Date(T0 + i * 1000));
  });
}

describe("audit log", () => {
  let dir: string;
  let store: Store;
  /** A second, plain connection to the same file: what someone with file access can do. */
  let raw: SqliteDatabase.Database;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "dbward-audit-"));
    store = openStore(dir);
    raw = new SqliteDatabase(join(dir, STORE_FILE));
  });
  afterEach(async () => {
    raw.close();
    await store.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test("chains events appended in several transactions, starting from the genesis hash", async () => {
    const appended = await inTransaction(store, async (tx) => [
      await appendAudit(tx, input(1), new Date(T0)),
      await appendAudit(tx, input(2), new Date(T0 + 1)),
    ]);
    appended.push(await inTransaction(store, (tx) => appendAudit(tx, input(3), new Date(T0 + 2))));
    const stored = await listAudit(store);
    assert.deepEqual(stored, appended, "what was appended is what is stored");
    assert.deepEqual(
      stored.map((e) => e.seq),
      [1, 2, 3],
    );
    assert.equal(stored[0]?.prevHash, GENESIS_HASH);
    assert.equal(stored[1]?.prevHash, stored[0]?.hash);
    assert.equal(stored[2]?.prevHash, stored[1]?.hash);
    assert.equal(new Set(stored.map((e) => e.hash)).size, 3);
    assert.equal(stored[0]?.time, new Date(T0).toISOString());
    const verdict = await verifyAuditStore(store);
    assert.deepEqual(verdict, { ok: true, count: 3, lastSeq: 3, lastHash: stored[2]?.hash });
  });

  test("stores details as canonical JSON, whatever order the keys came in", async () => {
    await inTransaction(store, (tx) =>
      appendAudit(tx, { ...input(1), details: { zeta: 1, alpha: { y: 2, x: 1 } } }, new Date(T0)),
    );
    const row = raw.prepare("SELECT details FROM audit_events WHERE seq = 1").get() as { details: string };
    assert.equal(row.details, canonicalJson({ alpha: { x: 1, y: 2 }, zeta: 1 }));
    assert.equal(row.details, '{"alpha":{"x":1,"y":2},"zeta":1}');
    assert.equal((await verifyAuditStore(store)).ok, true);
  });

  test("leaves no event behind when the transaction that appended it rolls back", async () => {
    await appendMany(store, 1, 2);
    await assert.rejects(
      inTransaction(store, async (tx) => {
        await tx
          .insertInto("agents")
          .values({ id: "agent-9", last_seen_at: new Date(T0).toISOString(), capabilities_json: "[]" })
          .execute();
        await appendAudit(tx, input(3), new Date(T0 + 3000));
        throw new Error("the change failed after its event was written");
      }),
      /the change failed/,
    );
    assert.equal((raw.prepare("SELECT COUNT(*) AS n FROM audit_events").get() as { n: number }).n, 2);
    assert.equal(raw.prepare("SELECT id FROM agents").get(), undefined, "the change vanished with its event");
    const next = await inTransaction(store, (tx) => appendAudit(tx, input(4), new Date(T0 + 4000)));
    assert.equal(next.seq, 3, "the chain continues from the last committed event");
    assert.deepEqual(await verifyAuditStore(store), { ok: true, count: 3, lastSeq: 3, lastHash: next.hash });
  });

  test("verifies an empty store as an empty chain", async () => {
    assert.deepEqual(await verifyAuditStore(store), {
      ok: true,
      count: 0,
      lastSeq: 0,
      lastHash: GENESIS_HASH,
    });
  });

  test("verifies inside a transaction through its own handle, counting the events not yet committed", async () => {
    await appendMany(store, 1, 3);
    await inTransaction(store, async (tx) => {
      const fourth = await appendAudit(tx, input(4), new Date(T0 + 4000));
      assert.deepEqual(await verifyAuditStore(tx, 2), {
        ok: true,
        count: 4,
        lastSeq: 4,
        lastHash: fourth.hash,
      });
    });
  });

  test("verifies one snapshot while the same process goes on appending", async () => {
    await appendMany(store, 1, 500);
    const [verdict] = await Promise.all([
      verifyAuditStore(store, 7),
      (async () => {
        for (let i = 501; i <= 600; i++)
          await inTransaction(store, (tx) => appendAudit(tx, input(i), new Date(T0 + i * 1000)));
      })(),
    ]);
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
    assert.ok(verdict.ok && verdict.count >= 500 && verdict.count <= 600);
    assert.deepEqual(await verifyAuditStore(store), {
      ok: true,
      count: 600,
      lastSeq: 600,
      lastHash: (await listAudit(store, { afterSeq: 599 }))[0]?.hash,
    });
  });

  test("verifies a store opened read-only, as dbward audit verify opens it", async () => {
    await appendMany(store, 1, 20);
    const readonly = openStoreFile(join(dir, STORE_FILE), { readonly: true });
    try {
      const verdict = await verifyAuditStore(readonly, 6);
      assert.ok(verdict.ok && verdict.count === 20, JSON.stringify(verdict));
    } finally {
      await readonly.destroy();
    }
  });

  describe("tampering with the SQLite file", () => {
    beforeEach(async () => {
      await appendMany(store, 1, 10);
      assert.equal((await verifyAuditStore(store)).ok, true);
    });

    const assertBreaksAt = async (seq: number, reason: string): Promise<void> => {
      const verdict = await verifyAuditStore(store);
      assert.equal(verdict.ok, false, "tampering is detected");
      if (!verdict.ok) {
        assert.equal(verdict.seq, seq, verdict.message);
        assert.equal(verdict.reason, reason);
        assert.ok(verdict.message.includes(String(verdict.seq)), "the message names the sequence number");
      }
    };

    test("names the edited event when a row's actor is changed", async () => {
      raw.prepare("UPDATE audit_events SET actor = 'user:mallory' WHERE seq = 4").run();
      await assertBreaksAt(4, "hash_mismatch");
    });

    test("names the edited event when a row's details are changed", async () => {
      raw.prepare(`UPDATE audit_events SET details = '{"i":7,"sql_sha256":"00"}' WHERE seq = 7`).run();
      await assertBreaksAt(7, "hash_mismatch");
    });

    test("names the edited event when its details are no longer JSON at all", async () => {
      raw.prepare("UPDATE audit_events SET details = 'not json' WHERE seq = 5").run();
      await assertBreaksAt(5, "hash_mismatch");
    });

    test("names an event whose column holds a BLOB where text belongs, without crashing", async () => {
      raw.prepare("UPDATE audit_events SET actor = CAST('user:mallory' AS BLOB) WHERE seq = 4").run();
      await assertBreaksAt(4, "malformed_event");
      const verdict = await verifyAuditStore(store);
      assert.ok(!verdict.ok && /actor is a 12-byte BLOB/.test(verdict.message), JSON.stringify(verdict));
    });

    test("names an event whose outcome is none of the outcomes, even with its hash recomputed", async () => {
      const e = (await listAudit(store)).find((x) => x.seq === 3);
      assert.ok(e !== undefined);
      const forged = { ...e, outcome: "approved-by-me" as AuditOutcome };
      raw
        .prepare("UPDATE audit_events SET outcome = ?, hash = ? WHERE seq = 3")
        .run(forged.outcome, hashAuditEvent(forged));
      await assertBreaksAt(3, "malformed_event");
    });

    test("names an event whose details are a JSON array, not an object", async () => {
      raw.prepare("UPDATE audit_events SET details = '[1,2]' WHERE seq = 2").run();
      await assertBreaksAt(2, "hash_mismatch");
    });

    test("names an event whose details were rewritten in another, equal JSON spelling and re-hashed as such", async () => {
      // Canonical JSON is what is hashed; the same object spelt with spaces hashes differently.
      raw
        .prepare(
          `UPDATE audit_events SET details = '{ "i": 6, "sql_sha256": "${"ab".repeat(32)}" }' WHERE seq = 6`,
        )
        .run();
      assert.equal(
        (await verifyAuditStore(store)).ok,
        true,
        "the stored text is read as the object it spells",
      );
      const row = raw.prepare("SELECT * FROM audit_events WHERE seq = 6").get() as Record<string, string>;
      const spelt = createHash("sha256")
        .update(
          `{"action":${JSON.stringify(row.action)},"actor":${JSON.stringify(row.actor)},"details":${row.details},"outcome":"success","prev":"${row.prev_hash}","seq":6,"target":${JSON.stringify(row.target)},"time":"${row.time}","v":1}`,
        )
        .digest("hex");
      raw.prepare("UPDATE audit_events SET hash = ? WHERE seq = 6").run(spelt);
      await assertBreaksAt(6, "hash_mismatch");
    });

    test("names the next event when an edited row's own hash was recomputed", async () => {
      const e = (await listAudit(store)).find((x) => x.seq === 6);
      assert.ok(e !== undefined);
      const forged = { ...e, actor: "user:mallory" };
      raw
        .prepare("UPDATE audit_events SET actor = ?, hash = ? WHERE seq = 6")
        .run(forged.actor, hashAuditEvent(forged));
      await assertBreaksAt(7, "broken_link");
    });

    test("names the first event after a deleted one in the middle", async () => {
      raw.prepare("DELETE FROM audit_events WHERE seq = 5").run();
      await assertBreaksAt(6, "sequence_gap");
    });

    test("names the first event when the first one is deleted", async () => {
      raw.prepare("DELETE FROM audit_events WHERE seq = 1").run();
      await assertBreaksAt(2, "sequence_gap");
    });

    test("names the first of two swapped events", async () => {
      raw.transaction(() => {
        raw.prepare("UPDATE audit_events SET seq = -1 WHERE seq = 4").run();
        raw.prepare("UPDATE audit_events SET seq = 4 WHERE seq = 5").run();
        raw.prepare("UPDATE audit_events SET seq = 5 WHERE seq = -1").run();
      })();
      await assertBreaksAt(4, "broken_link");
    });

    test("names the first of two events whose contents were swapped in place", async () => {
      const cols = "time, actor, action, target, outcome, details, prev_hash, hash";
      raw.transaction(() => {
        const a = raw.prepare(`SELECT ${cols} FROM audit_events WHERE seq = 8`).get() as Record<
          string,
          string
        >;
        const b = raw.prepare(`SELECT ${cols} FROM audit_events WHERE seq = 9`).get() as Record<
          string,
          string
        >;
        const set = raw.prepare(
          "UPDATE audit_events SET time = @time, actor = @actor, action = @action, target = @target, outcome = @outcome, details = @details, prev_hash = @prev_hash, hash = @hash WHERE seq = @seq",
        );
        set.run({ ...b, seq: 8 });
        set.run({ ...a, seq: 9 });
      })();
      await assertBreaksAt(8, "broken_link");
    });

    test("cannot see the newest events deleted, but its head moves so a checkpoint would", async () => {
      const before = await verifyAuditStore(store);
      raw.prepare("DELETE FROM audit_events WHERE seq > 8").run();
      const after = await verifyAuditStore(store);
      assert.equal(after.ok, true);
      assert.ok(before.ok && after.ok);
      assert.equal(after.lastSeq, 8);
      assert.notEqual(after.lastHash, before.lastHash);
    });
  });

  test(
    "never forks the chain when two processes append to the same file at once",
    { timeout: 120_000 },
    async (t) => {
      const PER_PROCESS = 1000;
      await appendMany(store, 1, 1);
      const results = await appendAtOnce(dir, PER_PROCESS, ["a", "b"]);
      for (const r of results) assert.equal(r.code, 0, `child failed: ${r.stderr}`);

      const events = await listAudit(store, { limit: 10_000 });
      assert.equal(events.length, 1 + 2 * PER_PROCESS, "every append landed");
      assert.deepEqual(
        events.map((e) => e.seq),
        Array.from({ length: events.length }, (_, i) => i + 1),
        "sequence numbers are unique and without gaps",
      );
      assert.equal(
        new Set(events.map((e) => e.prevHash)).size,
        events.length,
        "no two events share a predecessor",
      );
      for (const label of ["a", "b"]) {
        const mine = events.filter((e) => e.actor === `process:${label}`).map((e) => e.details.i);
        assert.deepEqual(
          mine,
          Array.from({ length: PER_PROCESS }, (_, i) => i + 1),
          `process ${label}'s events are all there, in its order`,
        );
      }
      assert.deepEqual(await verifyAuditStore(store), {
        ok: true,
        count: events.length,
        lastSeq: events.length,
        lastHash: events.at(-1)?.hash,
      });
      const switches = events.slice(1).filter((e, i) => e.actor !== events[i]?.actor).length;
      t.diagnostic(`the two processes took turns ${switches} times`);
    },
  );
});

describe("audit log over more than 10,000 events", () => {
  const TOTAL = 10_050;
  let dir: string;
  let store: Store;
  let raw: SqliteDatabase.Database;
  let lastHash: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "dbward-audit-"));
    store = openStore(dir);
    raw = new SqliteDatabase(join(dir, STORE_FILE));
    await appendMany(store, 1, TOTAL);
    lastHash = (raw.prepare("SELECT hash FROM audit_events WHERE seq = ?").get(TOTAL) as { hash: string })
      .hash;
  });
  after(async () => {
    raw.close();
    await store.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const pageSize of [1000, 997, 5000, 10_000, 20_000]) {
    test(`verifies every event in pages of ${pageSize}`, async () => {
      assert.deepEqual(await verifyAuditStore(store, pageSize), {
        ok: true,
        count: TOTAL,
        lastSeq: TOTAL,
        lastHash,
      });
    });
  }

  for (const [pageSize, seq] of [
    [1000, 1000],
    [1000, 1001],
    [997, 10_049],
    [20_000, 10_040],
  ] as const) {
    test(`finds an edit at ${seq} when verifying in pages of ${pageSize}`, async () => {
      raw.prepare("UPDATE audit_events SET outcome = 'denied' WHERE seq = ?").run(seq);
      try {
        const verdict = await verifyAuditStore(store, pageSize);
        assert.equal(verdict.ok, false);
        assert.equal(!verdict.ok && verdict.seq, seq);
      } finally {
        raw.prepare("UPDATE audit_events SET outcome = 'success' WHERE seq = ?").run(seq);
      }
      assert.equal((await verifyAuditStore(store)).ok, true, "the store is whole again for the next test");
    });
  }
});
