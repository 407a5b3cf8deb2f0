import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { types } from "@slack/bolt";
import { SLACK_IDS } from "../ids.ts";
import { queryModal, rejectModal, reviewModal } from "./modals.ts";
import { sampleCard } from "./test-cards.ts";

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
