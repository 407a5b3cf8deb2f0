import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import { sql } from "kysely";
import { memorySigner, signingKeyFromSecret } from "@dbward/shared";
import { describeEachStoreDialect } from "../store/each-store-dialect-testing.ts";
import { inTransaction } from "../store/in-transaction.ts";
import type { Store } from "../store/open-store.ts";
import { takeCheckpoint } from "./audit-checkpoints.ts";
import { appendAudit, listAudit, verifyAuditStore } from "./audit-log.ts";
import { purgeExpiredAudit } from "./audit-retention.ts";
import { verifyStoreAgainstCheckpoints } from "./verify-export.ts";

const T0 = Date.UTC(2024, 0, 1);
const DAY = 86_400_000;
const KEY = memorySigner(signingKeyFromSecret(new Uint8Array(32).fill(4)), "checkpoints");
const KEYS = { byKid: new Map(), anyKid: [KEY.publicKey] };
const day = (n: number): Date => new Date(T0 + n * DAY);

describeEachStoreDialect(
  "audit retention",
  (opened) => {
    let store: Store;

    /** Events 1..12, event i on day i; checkpoints at 4 and 8. */
    beforeEach(async () => {
      store = opened();
      for (let i = 1; i <= 12; i++) {
        await inTransaction(store, (tx) =>
          appendAudit(
            tx,
            { actor: "system", action: "test.event", target: "", outcome: "success", details: { i } },
            day(i),
          ),
        );
        if (i === 4 || i === 8) await takeCheckpoint(store, KEY, day(i));
      }
    });
    /** Writes behind the repositories' back, as someone with the state store's credentials could. */
    const tamper = async (statement: string): Promise<void> => {
      await sql.raw(statement).execute(store);
    };

    const seqs = async (): Promise<number[]> => (await listAudit(store)).map((e) => e.seq);

    test("purges old events up to the newest checkpoint older than the cutoff, and records the purge", async () => {
      const report = await purgeExpiredAudit(store, 2, day(12.5));
      assert.deepEqual(report, { throughSeq: 8, deleted: 8 });
      assert.deepEqual(await seqs(), [9, 10, 11, 12, 13]);
      const purge = (await listAudit(store)).at(-1);
      assert.equal(purge?.action, "audit.purged");
      assert.equal(purge?.details.through_seq, 8);
      assert.equal(purge?.details.retention_days, 2);
    });

    test("never purges past the newest checkpoint, however old the events", async () => {
      assert.equal((await purgeExpiredAudit(store, 1, day(1000)))?.throughSeq, 8);
      assert.deepEqual((await seqs()).slice(0, 4), [9, 10, 11, 12]);
    });

    test("purges nothing while no checkpoint's event is older than the cutoff", async () => {
      assert.equal(await purgeExpiredAudit(store, 10, day(12.5)), undefined);
      assert.equal((await seqs()).length, 12);
    });

    test("leaves a chain that verifies from the checkpoint as its anchor, in the store and against kept checkpoints", async () => {
      const kept = await takeCheckpoint(store, KEY, day(12));
      assert.ok(kept !== undefined);
      await purgeExpiredAudit(store, 2, day(12.5));
      const verdict = await verifyAuditStore(store);
      assert.equal(verdict.ok, true, JSON.stringify(verdict));
      assert.deepEqual(verdict.ok && [verdict.count, verdict.lastSeq], [5, 13]);
      const signed = await verifyStoreAgainstCheckpoints(store, KEYS, [kept]);
      assert.equal(signed.ok, true, JSON.stringify(signed));
      assert.deepEqual(signed.ok && [signed.anchorSeq, signed.checkpoints], [8, [12]]);
    });

    test("moves the anchor forward on a later purge", async () => {
      await purgeExpiredAudit(store, 6, day(12.5));
      assert.equal((await seqs())[0], 5, "the first purge stopped at checkpoint 4");
      await purgeExpiredAudit(store, 2, day(12.5));
      assert.equal((await seqs())[0], 9);
      assert.equal((await verifyAuditStore(store)).ok, true);
    });

    describe("tampering after a purge", () => {
      beforeEach(async () => {
        await purgeExpiredAudit(store, 2, day(12.5));
      });

      const assertBroken = async (seq: number, pattern: RegExp): Promise<void> => {
        const v = await verifyAuditStore(store);
        assert.equal(v.ok, false, "tampering is reported");
        assert.equal(!v.ok && v.seq, seq);
        assert.match(!v.ok ? v.message : "", pattern);
      };

      test("reports a deleted anchor checkpoint", async () => {
        await tamper("DELETE FROM audit_checkpoints WHERE seq = 8");
        await assertBroken(9, /no signed checkpoint at 8/);
      });

      test("reports the purge record deleted, even when the front still ends at a checkpoint", async () => {
        await tamper("DELETE FROM audit_events WHERE action = 'audit.purged'");
        await assertBroken(9, /no audit\.purged event/);
      });

      test("reports an edited event after the anchor", async () => {
        await tamper("UPDATE audit_events SET actor = 'user:mallory' WHERE seq = 10");
        await assertBroken(10, /does not match its hash/);
      });

      test("reports an anchor checkpoint whose hash was changed, when its signature is checked", async () => {
        await tamper(`UPDATE audit_checkpoints SET hash = '${"ab".repeat(32)}' WHERE seq = 8`);
        const v = await verifyStoreAgainstCheckpoints(store, KEYS, []);
        assert.equal(!v.ok && v.reason, "bad_signature");
      });
    });

    test("reports old events deleted by hand up to a checkpoint, which no purge recorded", async () => {
      await tamper("DELETE FROM audit_events WHERE seq <= 4");
      const v = await verifyAuditStore(store);
      assert.equal(v.ok, false);
      assert.equal(!v.ok && v.seq, 5);
      assert.match(!v.ok ? v.message : "", /events up to 4 were deleted/);
    });
  },
  { freshStoreEachTest: true },
);
