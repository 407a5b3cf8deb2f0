/**
 * Join request reasons and a pending step-up approval's decision (its comment) are sealed in an
 * encrypted store like the request's texts (docs/security-hardening.md, "Encrypted state at
 * rest"): the raw columns hold none of the text, the repositories read it back clear, and a value
 * moved to another row does not open there.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { kekFromEnvironment } from "../crypto/key-encryption-key.ts";
import { isSealedText } from "../crypto/sealed-value.ts";
import { unlockStateStore } from "../crypto/unlock-state-store.ts";
import { closeJoinRequest, findJoinRequest, listJoinRequests } from "../identity/join-requests.ts";
import { describeEachStoreDialect } from "./each-store-dialect-testing.ts";
import { inTransaction } from "./in-transaction.ts";
import { insertJoinRequest } from "./join-requests-repo.ts";
import { findChallenge, insertStepUpChallenge } from "./step-up-challenges-repo.ts";

const now = new Date("2026-12-03T12:00:00.000Z");
const key = (): string => randomBytes(32).toString("base64");

const join = (id: string, reason: string) => ({
  id,
  slackUserId: `U${id}`,
  displayName: "Newcomer",
  email: null,
  groupsJson: "[]",
  requestedRole: "requester",
  reason,
  createdAt: now.toISOString(),
  expiresAt: new Date(now.getTime() + 3_600_000).toISOString(),
});

describeEachStoreDialect(
  "join requests and step-up decisions in an encrypted store",
  (store) => {
    test("a join request's reason and its decision reason are sealed in the row and read back clear", async () => {
      const s = await unlockStateStore(store(), kekFromEnvironment({ DBWARD_STATE_KEY: key() }), now);
      await inTransaction(s, (tx) => insertJoinRequest(tx, join("j1", "zqJoinReason")));
      await inTransaction(s, (tx) => insertJoinRequest(tx, join("j2", "another")));
      await inTransaction(s, (tx) =>
        closeJoinRequest(tx, "j1", {
          status: "rejected",
          decidedBy: "root",
          decidedAt: now.toISOString(),
          reason: "zqDecisionReason",
          userId: null,
        }),
      );
      const raw = await store()
        .selectFrom("join_requests")
        .selectAll()
        .where("id", "=", "j1")
        .executeTakeFirstOrThrow();
      assert.ok(isSealedText(raw.reason) && isSealedText(raw.decision_reason ?? ""));
      assert.equal(
        JSON.stringify(raw).includes("zqJoinReason") || JSON.stringify(raw).includes("zqDecisionReason"),
        false,
      );
      const read = await findJoinRequest(s, "j1");
      assert.equal(read?.reason, "zqJoinReason");
      assert.equal(read?.decision_reason, "zqDecisionReason");
      assert.deepEqual((await listJoinRequests(s, [])).map((r) => r.reason).sort(), [
        "another",
        "zqJoinReason",
      ]);
      // j1's sealed reason copied into j2: refused there.
      await store().updateTable("join_requests").set({ reason: raw.reason }).where("id", "=", "j2").execute();
      await assert.rejects(
        () => findJoinRequest(s, "j2"),
        /state\.undecryptable: .*join_requests\.reason:j2/,
      );
    });

    test("a pending step-up approval's comment is sealed in decision_json and read back clear", async () => {
      const s = await unlockStateStore(store(), kekFromEnvironment({ DBWARD_STATE_KEY: key() }), now);
      await insertStepUpChallenge(s, {
        id: "c1",
        linkSecret: "secret-1",
        requestId: 1,
        step: 1,
        userId: "bob",
        oidcSubject: "https://idp#bob",
        decision: { comment: "zqStepUpComment" },
        now,
        expiresAt: new Date(now.getTime() + 300_000),
      });
      const raw = await store()
        .selectFrom("step_up_challenges")
        .select("decision_json")
        .where("id", "=", "c1")
        .executeTakeFirstOrThrow();
      assert.ok(isSealedText(raw.decision_json) && !raw.decision_json.includes("zqStepUpComment"));
      assert.equal((await findChallenge(s, "c1"))?.decision.comment, "zqStepUpComment");
    });
  },
  { freshStoreEachTest: true },
);
