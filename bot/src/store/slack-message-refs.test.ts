import assert from "node:assert/strict";
import { test } from "node:test";
import { describeEachStoreDialect } from "./each-store-dialect-testing.ts";
import { storeMessageRefs } from "./slack-message-refs.ts";

describeEachStoreDialect(
  "Slack message locations in the store",
  (store, { reopen }) => {
    test("survive reopening the store, so a restarted bot redraws instead of reposting", async () => {
      const refs = storeMessageRefs(store());
      await refs.savePost(7, { channel: "C1", ts: "1.1" });
      await refs.saveDm(7, "carol", { channel: "D2", ts: "3.3" });
      await refs.saveDm(7, "bob", { channel: "D1", ts: "2.2" });

      const again = storeMessageRefs(await reopen());
      assert.deepEqual(await again.post(7), { channel: "C1", ts: "1.1" });
      assert.deepEqual(
        [...(await again.dms(7)).entries()],
        [
          ["bob", { channel: "D1", ts: "2.2" }],
          ["carol", { channel: "D2", ts: "3.3" }],
        ],
      );
      assert.equal(await again.post(8), undefined);
      assert.deepEqual([...(await again.dms(8)).entries()], []);
    });

    test("a later save for the same message replaces the earlier one", async () => {
      const refs = storeMessageRefs(store());
      await refs.savePost(9, { channel: "C1", ts: "1.0" });
      await refs.savePost(9, { channel: "C1", ts: "1.5" });
      assert.deepEqual(await refs.post(9), { channel: "C1", ts: "1.5" });
      await refs.saveDm(9, "alice", { channel: "D1", ts: "1.0" });
      await refs.saveDm(9, "bob", { channel: "D2", ts: "1.0" });
      await refs.saveDm(9, "alice", { channel: "D1", ts: "1.9" });
      assert.deepEqual(
        [...(await refs.dms(9)).entries()],
        [
          ["alice", { channel: "D1", ts: "1.9" }],
          ["bob", { channel: "D2", ts: "1.0" }],
        ],
        "a replaced DM keeps its place: the approvers' order, not the order of the last write",
      );
      assert.deepEqual(await refs.post(9), { channel: "C1", ts: "1.5" }, "a DM is not the post");
    });

    test("reminder DMs are kept per step and per approver, and a later save replaces the earlier", async () => {
      const refs = storeMessageRefs(store());
      await refs.saveReminderDm(11, 2, "carol", { channel: "D3", ts: "5.0" });
      await refs.saveReminderDm(11, 1, "bob", { channel: "D2", ts: "4.0" });
      await refs.saveReminderDm(11, 1, "alice", { channel: "D1", ts: "4.0" });
      await refs.saveReminderDm(11, 1, "bob", { channel: "D2", ts: "4.5" });
      await refs.saveReminderDm(12, 1, "bob", { channel: "D2", ts: "9.9" });
      const steps = await refs.reminderDms(11);
      assert.deepEqual(
        [...steps.entries()].map(([step, byUser]) => [step, [...byUser.entries()]]),
        [
          [
            1,
            [
              ["alice", { channel: "D1", ts: "4.0" }],
              ["bob", { channel: "D2", ts: "4.5" }],
            ],
          ],
          [2, [["carol", { channel: "D3", ts: "5.0" }]]],
        ],
      );
      assert.deepEqual([...(await refs.reminderDms(13)).entries()], []);
      assert.deepEqual([...(await refs.dms(11)).entries()], [], "a reminder DM is not the approval DM");
    });
  },
  { freshStoreEachTest: true },
);
