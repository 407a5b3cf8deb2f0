import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SLACK_IDS } from "../ids.ts";
import { reminderMessage, reminderThreadLine, waitedFor } from "./reminder-message.ts";
import { sampleCard } from "../../../../test/support/slack/sample-cards.ts";

const actionIds = (m: ReturnType<typeof reminderMessage>): string[] =>
  m.blocks.flatMap((b) =>
    b.type === "actions" ? b.elements.map((e) => ("action_id" in e ? (e.action_id ?? "") : "")) : [],
  );

describe("reminder messages", () => {
  test("says how long the step has waited, in words a glance can read", () => {
    assert.equal(waitedFor(30_000), "30s");
    assert.equal(waitedFor(31 * 60_000), "31m");
    assert.equal(waitedFor(61 * 60_000), "1h 1m");
    assert.equal(waitedFor(2 * 3_600_000), "2h");
    assert.equal(waitedFor(26 * 3_600_000), "1d 2h");
    const m = reminderMessage(sampleCard(), true, 90 * 60_000);
    assert.match(JSON.stringify(m.blocks), /waited 1h 30m for your decision/);
  });

  test("an approver who may decide gets the decision buttons and Snooze 1h", () => {
    const ids = actionIds(reminderMessage(sampleCard(), true, 60_000));
    assert.ok(ids.includes(SLACK_IDS.actions.approve));
    assert.ok(ids.includes(SLACK_IDS.actions.snoozeReminder));
  });

  test("no buttons at all once the person may no longer decide", () => {
    assert.deepEqual(actionIds(reminderMessage(sampleCard(), false)), []);
    assert.deepEqual(actionIds(reminderMessage(sampleCard({ status: "approved" }), true)), []);
  });

  test("the thread line names who was reminded", () => {
    assert.equal(
      reminderThreadLine(sampleCard(), ["bob", "carol"]).text,
      ":bell: Reminder sent to <@U0BOB0001>, <@U0CAROL01>.",
    );
  });
});
