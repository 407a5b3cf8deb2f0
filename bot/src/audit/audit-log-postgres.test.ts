/**
 * The audit chain on PostgreSQL state with several writers (docs/deployment.md, high
 * availability): separate OS processes, each with its own connection pool as a bot instance has,
 * append at once; the chain stays one sequence with no gap, fork or reorder, and verifies.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { appendAtOnce } from "../../../test/support/audit-appenders.ts";
import { dropStateDatabase, ensureStateDatabase } from "../../../test/support/postgres-state.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { openPostgresStore } from "../store/open-postgres-store.ts";
import type { Store } from "../store/open-store.ts";
import { appendAudit, listAudit, verifyAuditStore } from "./audit-log.ts";

const PER_PROCESS = 60;

describe("audit chain on PostgreSQL state", () => {
  const key = `audit-pg-${process.pid}`;
  let url: string;
  let store: Store;
  before(async () => {
    await dropStateDatabase(key);
    url = await ensureStateDatabase(key);
    store = await openPostgresStore({ url, poolSize: 4, onIdleError: () => undefined });
  });
  after(async () => {
    await store.destroy();
    await dropStateDatabase(key);
  });

  test("three processes appending at once leave one gapless chain that verifies", async () => {
    await inTransaction(store, (tx) =>
      appendAudit(
        tx,
        { actor: "system", action: "test.start", target: "", outcome: "success", details: {} },
        new Date(),
      ),
    );
    for (const r of await appendAtOnce(url, PER_PROCESS, ["a", "b", "c"])) assert.equal(r.code, 0, r.stderr);

    const events = await listAudit(store, { limit: 10_000 });
    assert.equal(events.length, 1 + 3 * PER_PROCESS, "every append landed");
    assert.deepEqual(
      events.map((e) => e.seq),
      Array.from({ length: events.length }, (_, i) => i + 1),
    );
    for (let i = 1; i < events.length; i++) assert.equal(events[i]?.prevHash, events[i - 1]?.hash);
    // The writers interleaved: the lock serialised them, it did not run them one after another.
    const order = events.slice(1).map((e) => e.actor);
    assert.ok(new Set(order.slice(0, PER_PROCESS)).size > 1, "appends from several processes interleave");
    const verdict = await verifyAuditStore(store);
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
  });

  test("a transaction that fails after appending leaves no event and no gap", async () => {
    const before = (await listAudit(store, { limit: 10_000 })).length;
    await assert.rejects(
      inTransaction(store, async (tx) => {
        await appendAudit(
          tx,
          { actor: "system", action: "test.doomed", target: "", outcome: "success", details: {} },
          new Date(),
        );
        throw new Error("the change failed after its audit event");
      }),
      /failed after its audit event/,
    );
    await inTransaction(store, (tx) =>
      appendAudit(
        tx,
        { actor: "system", action: "test.after", target: "", outcome: "success", details: {} },
        new Date(),
      ),
    );
    const events = await listAudit(store, { limit: 10_000 });
    assert.equal(events.length, before + 1);
    assert.equal(events.at(-1)?.seq, before + 1);
    assert.equal((await verifyAuditStore(store)).ok, true);
  });

  test(
    "a read-only reader verifies while a writer holds the state's write lock, and cannot write",
    { timeout: 20_000 },
    async () => {
      const reader = await openPostgresStore({
        url,
        poolSize: 2,
        onIdleError: () => undefined,
        readonly: true,
      });
      let release = (): void => undefined;
      const held = new Promise<void>((r) => (release = r));
      const writer = inTransaction(store, async (tx) => {
        await appendAudit(
          tx,
          { actor: "system", action: "test.held", target: "", outcome: "success", details: {} },
          new Date(),
        );
        await held;
      });
      try {
        // In one snapshot, as a consistent read of a live chain is made.
        const verdict = await reader
          .transaction()
          .setIsolationLevel("repeatable read")
          .execute((tx) => verifyAuditStore(tx));
        assert.equal(verdict.ok, true, JSON.stringify(verdict));
        await assert.rejects(
          reader
            .insertInto("agents")
            .values({ id: "x", last_seen_at: "2026-01-01T00:00:00.000Z", capabilities_json: "[]" })
            .execute(),
          /read-only transaction/,
        );
      } finally {
        release();
        await writer;
        await reader.destroy();
      }
    },
  );

  test(
    "the bot's own handle verifies in one snapshot without waiting for a writer that holds the write lock",
    { timeout: 20_000 },
    async () => {
      const before = await verifyAuditStore(store);
      assert.ok(before.ok);
      let release = (): void => undefined;
      const held = new Promise<void>((r) => (release = r));
      const writer = inTransaction(store, async (tx) => {
        await appendAudit(
          tx,
          { actor: "system", action: "test.held", target: "", outcome: "success", details: {} },
          new Date(),
        );
        await held;
      });
      try {
        // A verification that took the lock would wait here until the test times out.
        assert.deepEqual(
          await verifyAuditStore(store, 3),
          before,
          "the uncommitted event is not in the snapshot",
        );
      } finally {
        release();
        await writer;
      }
      const after = await verifyAuditStore(store);
      assert.ok(after.ok && after.count === before.count + 1);
    },
  );

  test(
    "a writer that stalls inside its transaction loses it, and the others' writes go on",
    { timeout: 20_000 },
    async () => {
      const stalling = await openPostgresStore({
        url,
        poolSize: 2,
        onIdleError: () => undefined,
        idleInTransactionMs: 300,
      });
      try {
        const stalled = inTransaction(stalling, async (tx) => {
          await appendAudit(
            tx,
            { actor: "system", action: "test.stalled", target: "", outcome: "success", details: {} },
            new Date(),
          );
          await new Promise((r) => setTimeout(r, 1500));
        }).then(
          () => "committed",
          (err: unknown) => String(err),
        );
        // Another instance's write waits for the lock, then gets it once the server ends the stalled session.
        await new Promise((r) => setTimeout(r, 50));
        await inTransaction(store, (tx) =>
          appendAudit(
            tx,
            { actor: "system", action: "test.unblocked", target: "", outcome: "success", details: {} },
            new Date(),
          ),
        );
        assert.match(await stalled, /idle-in-transaction timeout|Connection terminated|not queryable/);
        // The stalled instance's pool dropped the ended connection and serves the next call.
        assert.ok(Array.isArray(await stalling.selectFrom("agents").selectAll().execute()));
        const actions = (await listAudit(store, { limit: 10_000 })).map((e) => e.action);
        assert.ok(actions.includes("test.unblocked"));
        assert.ok(!actions.includes("test.stalled"), "the stalled transaction's event was rolled back");
        assert.equal((await verifyAuditStore(store)).ok, true);
      } finally {
        await stalling.destroy();
      }
    },
  );
});
