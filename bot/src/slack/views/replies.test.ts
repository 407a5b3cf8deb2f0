import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createdMessage, helpMessage, notLinkedMessage } from "./replies.ts";
import { sampleCard } from "../../../../test/support/slack/sample-cards.ts";

describe("replies", () => {
  test("help shows requesters how to ask and approvers how to decide", () => {
    const requester = JSON.stringify(helpMessage("Alice", ["requester"]).blocks);
    assert.match(requester, /\/dbward query/);
    assert.doesNotMatch(requester, /You are an approver/);
    const approver = JSON.stringify(helpMessage("Bob", ["approver"]).blocks);
    assert.doesNotMatch(approver, /ask to run SQL/);
    assert.match(approver, /You are an approver/);
  });

  test("an unlinked user is told their Slack id and whom to ask", () => {
    assert.match(notLinkedMessage("U0NEW0001").text, /slack_user_id: U0NEW0001/);
  });

  test("the created message shows exactly the SQL that will run", () => {
    const m = createdMessage(sampleCard());
    assert.ok(
      JSON.stringify(m.blocks).includes(JSON.stringify("UPDATE orders SET status = 'paid' WHERE id < 10")),
    );
    assert.match(m.text, /Waiting for approval/);
  });
});
