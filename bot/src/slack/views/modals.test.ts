import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { types } from "@slack/bolt";
import { SLACK_IDS } from "../ids.ts";
import { queryModal, rejectModal, reviewModal } from "./modals.ts";
import { sampleCard } from "../../../../test/support/slack/sample-cards.ts";

const TARGETS = [
  { database: "shop", environments: ["production", "staging"] },
  { database: "demo", environments: ["local"] },
];

function inputs(view: types.ModalView): types.InputBlock[] {
  return view.blocks.filter((b): b is types.InputBlock => b.type === "input");
}

function select(view: types.ModalView, actionId: string): types.StaticSelect | undefined {
  const found = inputs(view).find((b) => "action_id" in b.element && b.element.action_id === actionId);
  return found?.element as types.StaticSelect | undefined;
}

describe("the modals", () => {
  test("the query form offers only the databases and environments the user may request", () => {
    const v = queryModal(TARGETS, { database: "shop", sql: "SELECT 1" });
    assert.deepEqual(
      select(v, SLACK_IDS.actions.queryDatabase)?.options?.map((o) => o.value),
      ["shop", "demo"],
    );
    assert.deepEqual(
      select(v, SLACK_IDS.inputs.environment.action)?.options?.map((o) => o.value),
      ["production", "staging"],
    );
    assert.equal(select(v, SLACK_IDS.actions.queryDatabase)?.initial_option?.value, "shop");
    assert.match(JSON.stringify(v), /"initial_value":"SELECT 1"/);
  });

  test("the review modal shows the full SQL and asks for a decision while pending", () => {
    const v = reviewModal(sampleCard(), { requestId: 12, channel: "C1" });
    const text = JSON.stringify(v);
    assert.ok(text.includes("UPDATE orders SET status = 'paid' WHERE id < 10"));
    assert.equal(v.callback_id, SLACK_IDS.views.review);
    assert.deepEqual(JSON.parse(v.private_metadata ?? ""), { requestId: 12, channel: "C1" });
    assert.ok(v.submit !== undefined);
    assert.ok(v.blocks.some((b) => b.block_id === SLACK_IDS.inputs.decision.block));
  });

  test("the review modal asks which selector to approve as when the approver has a choice, the default chosen", () => {
    const v = reviewModal(
      sampleCard(),
      { requestId: 12 },
      { options: ["group:dba", "group:security"], initial: "group:dba" },
    );
    const choice = select(v, SLACK_IDS.inputs.approveAs.action);
    assert.deepEqual(
      choice?.options?.map((o) => o.value),
      ["group:dba", "group:security"],
    );
    assert.equal(choice?.initial_option?.value, "group:dba");
    const block = inputs(v).find((b) => b.block_id === SLACK_IDS.inputs.approveAs.block);
    assert.equal(block?.label.text, "Approve as");
    const order = inputs(v).map((b) => b.block_id);
    assert.deepEqual(order, [
      SLACK_IDS.inputs.decision.block,
      SLACK_IDS.inputs.approveAs.block,
      SLACK_IDS.inputs.notBefore.block,
      SLACK_IDS.inputs.comment.block,
    ]);
  });

  test("the review modal asks nothing about selectors when one applies or the request is decided", () => {
    const one = { options: ["group:security"], initial: "group:security" };
    for (const v of [
      reviewModal(sampleCard(), { requestId: 12 }),
      reviewModal(sampleCard(), { requestId: 12 }, one),
      reviewModal(
        sampleCard({ status: "approved" }),
        { requestId: 12 },
        {
          options: ["group:dba", "group:security"],
          initial: "group:dba",
        },
      ),
    ]) {
      assert.equal(select(v, SLACK_IDS.inputs.approveAs.action), undefined);
    }
  });

  test("the review modal of a decided request has nothing to submit", () => {
    const v = reviewModal(sampleCard({ status: "rejected" }), { requestId: 12 });
    assert.equal(v.submit, undefined);
    assert.ok(!v.blocks.some((b) => b.type === "input"));
  });

  test("the reject modal requires a reason", () => {
    const v = rejectModal(sampleCard(), { requestId: 12 });
    const [reason] = inputs(v);
    assert.equal(reason?.optional ?? false, false);
  });
});
