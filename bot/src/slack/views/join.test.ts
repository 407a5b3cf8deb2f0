import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { JoinRequestView } from "@dbward/shared";
import { SLACK_IDS } from "../ids.ts";
import { joinDecidedMessage, joinModal, joinReviewMessage } from "./join.ts";

const JOIN: JoinRequestView = {
  id: "join_abc",
  slack_user_id: "U0NEW0001",
  name: "Nia <script>",
  email: null,
  requested_role: "requester",
  groups: ["payments"],
  reason: "on call *now*",
  status: "pending",
  created_at: "2026-01-01T00:00:00.000Z",
  expires_at: "2026-01-08T00:00:00.000Z",
  decided_by: null,
  decided_at: null,
  decision_reason: null,
  user_id: null,
};

describe("join views", () => {
  test("the form offers exactly the allowed roles and prefills the name", () => {
    const view = joinModal(["requester", "approver"], "Nia");
    assert.equal(view.callback_id, SLACK_IDS.views.join);
    const json = JSON.stringify(view);
    assert.match(json, /"value":"requester".*"value":"approver"/);
    assert.match(json, /"initial_value":"Nia"/);
    assert.doesNotMatch(json, /initial_option/, "no preselected role when there is a choice");
    assert.match(JSON.stringify(joinModal(["requester"], "")), /initial_option/);
  });

  test("the review post has Approve and Reject carrying the id, and escapes what the person typed", () => {
    const m = joinReviewMessage(JOIN);
    const json = JSON.stringify(m.blocks);
    assert.match(json, new RegExp(`"action_id":"${SLACK_IDS.actions.joinApprove}","value":"join_abc"`));
    assert.match(json, new RegExp(`"action_id":"${SLACK_IDS.actions.joinReject}","value":"join_abc"`));
    assert.match(json, /&lt;script&gt;/);
    assert.doesNotMatch(json, /<script>/);
  });

  test("the outcome DM says approved with the user id, or rejected with the reason", () => {
    assert.match(
      joinDecidedMessage({ ...JOIN, status: "approved", user_id: "nia" }).text,
      /approved: you are user `nia` \(requester\)/,
    );
    assert.match(
      joinDecidedMessage({ ...JOIN, status: "rejected", decision_reason: "not now" }).text,
      /rejected: not now/,
    );
  });
});
