import assert from "node:assert/strict";
import { test } from "node:test";
import { sql } from "kysely";
import { memorySigner, signingKeyFromSecret, verifyCheckpointSignature } from "@dbward/shared";
import { describeEachStoreDialect } from "../store/each-store-dialect-testing.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { latestCheckpoint, takeCheckpoint, takeCheckpointIfDue } from "./audit-checkpoints.ts";
import { appendAudit, listAudit } from "./audit-log.ts";

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);
const KEY = memorySigner(signingKeyFromSecret(new Uint8Array(32).fill(9)), "checkpoints");
const POLICY = { everyEvents: 5, everyMinutes: 60 };
const at = (minutes: number): Date => new Date(T0 + minutes * 60_000);

describeEachStoreDialect(
  "signed audit checkpoints in the store",
  (opened) => {
    async function append(count: number, minute = 0): Promise<void> {
      await inTransaction(opened(), async (tx) => {
        for (let i = 0; i < count; i++) {
          await appendAudit(
            tx,
            { actor: "system", action: "test.event", target: "", outcome: "success", details: { i } },
            at(minute),
          );
        }
      });
    }

    /** Writes behind the repositories' back, as someone with the state store's credentials could. */
    const tamper = async (statement: string): Promise<void> => {
      await sql.raw(statement).execute(opened());
    };
    const counter = async (): Promise<number> => {
      const row = await opened()
        .selectFrom("audit_checkpoint_state")
        .select("events_since_checkpoint")
        .executeTakeFirstOrThrow();
      return row.events_since_checkpoint;
    };

    test("counts every appended event in an explicit counter, committed with the event", async () => {
      assert.equal(await counter(), 0);
      await append(3);
      assert.equal(await counter(), 3);
      await assert.rejects(
        inTransaction(opened(), async (tx) => {
          await appendAudit(
            tx,
            { actor: "system", action: "x", target: "", outcome: "success", details: {} },
            at(0),
          );
          throw new Error("rolled back");
        }),
      );
      assert.equal(await counter(), 3, "a rolled-back event is not counted");
    });

    test("signs the first head at once, then only when the event count is reached", async () => {
      await append(1);
      const first = await takeCheckpointIfDue(opened(), KEY, POLICY, at(1));
      assert.equal(first?.seq, 1, "the first event is checkpointed without waiting");
      assert.equal(await counter(), 0, "the counter is reset with the checkpoint");
      await append(4, 2);
      assert.equal(
        await takeCheckpointIfDue(opened(), KEY, POLICY, at(3)),
        undefined,
        "4 of 5 events: not yet",
      );
      await append(1, 3);
      const second = await takeCheckpointIfDue(opened(), KEY, POLICY, at(3));
      const head = (await listAudit(opened())).at(-1);
      assert.deepEqual(second && { seq: second.seq, hash: second.hash, kid: second.kid }, {
        seq: 6,
        hash: head?.hash,
        kid: KEY.kid,
      });
      assert.equal(second?.time, at(3).toISOString());
    });

    test("signs after the configured minutes when fewer events came, and never with no new event", async () => {
      await append(1);
      await takeCheckpointIfDue(opened(), KEY, POLICY, at(0));
      await append(2, 1);
      assert.equal(await takeCheckpointIfDue(opened(), KEY, POLICY, at(59)), undefined);
      assert.equal((await takeCheckpointIfDue(opened(), KEY, POLICY, at(60)))?.seq, 3);
      assert.equal(
        await takeCheckpointIfDue(opened(), KEY, POLICY, at(600)),
        undefined,
        "nothing new to sign",
      );
      assert.equal(await takeCheckpoint(opened(), KEY, at(600)), undefined);
    });

    test("stores checkpoints whose signatures verify with the public key alone", async () => {
      await append(7);
      await takeCheckpoint(opened(), KEY, at(1));
      const cp = await latestCheckpoint(opened());
      assert.ok(cp !== undefined);
      const keys = { byKid: new Map(), anyKid: [KEY.publicKey] };
      assert.deepEqual(verifyCheckpointSignature(cp, keys), { ok: true });
      await tamper("UPDATE audit_checkpoints SET seq = 6");
      const edited = await latestCheckpoint(opened());
      assert.ok(edited !== undefined);
      assert.equal(
        verifyCheckpointSignature(edited, keys).ok,
        false,
        "an edited checkpoint row no longer verifies",
      );
    });

    test("signs nothing when the counted events were deleted by hand", async () => {
      await append(3);
      await takeCheckpoint(opened(), KEY, at(1));
      await append(2, 2);
      await tamper("DELETE FROM audit_events WHERE seq > 3");
      assert.equal(await takeCheckpoint(opened(), KEY, at(3)), undefined);
      assert.equal(await counter(), 0);
      assert.equal((await latestCheckpoint(opened()))?.seq, 3);
    });
  },
  { freshStoreEachTest: true },
);
