import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { deliveryIdentity } from "./inbound-dedupe.ts";

describe("the identity of a Slack delivery", () => {
  test("is the event id for an Events API callback", () => {
    assert.equal(
      deliveryIdentity({ type: "event_callback", event_id: "Ev01", trigger_id: "t" }),
      "event:Ev01",
    );
  });

  test("is the trigger id for commands, clicks and submissions", () => {
    assert.equal(deliveryIdentity({ command: "/dbward", trigger_id: "123.456.abc" }), "trigger:123.456.abc");
    assert.equal(deliveryIdentity({ type: "block_actions", trigger_id: "9.9.9" }), "trigger:9.9.9");
    assert.equal(deliveryIdentity({ type: "view_submission", trigger_id: "8.8.8" }), "trigger:8.8.8");
  });

  test("is absent for what changes nothing, or for ids that are not plausible", () => {
    assert.equal(deliveryIdentity({ type: "block_suggestion", value: "x" }), undefined);
    assert.equal(deliveryIdentity({ type: "event_callback" }), undefined);
    assert.equal(deliveryIdentity({ trigger_id: "x".repeat(201) }), undefined);
    assert.equal(deliveryIdentity("not an object"), undefined);
  });
});
