import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { appendAudit, hasAuditEvent, listAudit, verifyAuditStore } from "../audit/audit-log.ts";
import { describeEachStoreDialect } from "../store/each-store-dialect-testing.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { kekFromEnvironment } from "./key-encryption-key.ts";
import { openAuditEvent } from "./seal-audit-details.ts";
import { isSealedText } from "./sealed-value.ts";
import { unlockStateStore } from "./unlock-state-store.ts";

const now = new Date("2026-12-03T12:00:00.000Z");
const failed = {
  actor: "agent:agent-1",
  action: "request.failed",
  target: "request:1",
  outcome: "failure" as const,
  details: { execution: 1, error: { code: "22P02", message: 'invalid input syntax: "zqSecret"' } },
};

describeEachStoreDialect(
  "free text of audit events in an encrypted store",
  (store) => {
    test("sealed before hashing under its seq and path; ids and codes stay clear; the chain verifies without the key", async () => {
      const s = await unlockStateStore(
        store(),
        kekFromEnvironment({ DBWARD_STATE_KEY: randomBytes(32).toString("base64") }),
        now,
      );
      await inTransaction(s, (tx) => appendAudit(tx, failed, now));
      const [, stored] = await listAudit(store());
      assert.ok(stored !== undefined);
      const error = stored.details.error as { code: string; message: string };
      assert.equal(error.code, "22P02");
      assert.ok(isSealedText(error.message) && !JSON.stringify(stored).includes("zqSecret"));
      assert.equal(stored.details.execution, 1);
      assert.equal((await verifyAuditStore(store())).ok, true, "keyless verification");
      assert.deepEqual(openAuditEvent(s, stored).details, failed.details);
      // Moved to another event, the sealed text does not open there: it is shown as stored.
      const moved = openAuditEvent(s, { ...stored, seq: stored.seq + 1 });
      assert.equal((moved.details.error as { message: string }).message, error.message);
    });

    test("an agent's repeated report is still found as recorded, though each sealing differs", async () => {
      const s = await unlockStateStore(
        store(),
        kekFromEnvironment({ DBWARD_STATE_KEY: randomBytes(32).toString("base64") }),
        now,
      );
      assert.equal(await hasAuditEvent(s, failed), false);
      await inTransaction(s, (tx) => appendAudit(tx, failed, now));
      assert.equal(await hasAuditEvent(s, failed), true);
      const other = {
        ...failed,
        details: { ...failed.details, error: { code: "22P02", message: "another" } },
      };
      assert.equal(await hasAuditEvent(s, other), false);
    });

    test("a handle without the key never appends free text in the clear to an encrypted store's chain", async () => {
      await unlockStateStore(
        store(),
        kekFromEnvironment({ DBWARD_STATE_KEY: randomBytes(32).toString("base64") }),
        now,
      );
      // store() is the same store opened without its keys, as an instance started before the key.
      await assert.rejects(
        () => inTransaction(store(), (tx) => appendAudit(tx, failed, now)),
        /state\.key_missing/,
      );
      const plain = { ...failed, details: { execution: 1 } };
      await inTransaction(store(), (tx) => appendAudit(tx, plain, now));
      assert.equal(JSON.stringify(await listAudit(store())).includes("zqSecret"), false);
    });
  },
  { freshStoreEachTest: true },
);
