import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { depthOf, MAX_DEPTH, parseInboundBody } from "./inbound-body.ts";

const FORM = "application/x-www-form-urlencoded";
const form = (payload: unknown): string =>
  new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
const user = { id: "U1" };

describe("parseInboundBody", () => {
  test("hands a slash command, a button click and an event to Bolt", () => {
    assert.deepEqual(parseInboundBody("command=%2Fdbward&user_id=U1&text=list", FORM), { kind: "dispatch" });
    const click = form({ type: "block_actions", user, actions: [{ action_id: "a" }] });
    assert.deepEqual(parseInboundBody(click, FORM), { kind: "dispatch" });
    const event = JSON.stringify({ type: "event_callback", event: { type: "app_home_opened" } });
    assert.deepEqual(parseInboundBody(event, "application/json"), { kind: "dispatch" });
  });

  test("ignores a callback type Bolt does not route", () => {
    assert.deepEqual(parseInboundBody(JSON.stringify({ type: "app_rate_limited" }), "application/json"), {
      kind: "ignored",
      type: "app_rate_limited",
    });
  });

  test("refuses bad JSON, a non-object, a missing type and missing fields", () => {
    const kind = (raw: string, type = FORM): string => parseInboundBody(raw, type).kind;
    assert.equal(kind("payload=%7B"), "invalid");
    assert.equal(kind(form([1])), "invalid");
    assert.equal(kind(form({ user })), "invalid");
    assert.equal(kind(form({ type: "block_actions", user, actions: [] })), "invalid");
    assert.equal(kind(form({ type: "block_actions", user, actions: [{}] })), "invalid");
    assert.equal(kind(form({ type: "view_submission", user, view: { id: "V" } })), "invalid");
    const view = { id: "V", callback_id: "c" };
    assert.equal(kind(form({ type: "view_submission", user, view })), "invalid");
    assert.equal(
      kind(form({ type: "view_submission", user, view: { ...view, state: { values: {} } } })),
      "dispatch",
    );
    assert.equal(kind(form({ type: "view_closed", user, view })), "dispatch");
    assert.equal(kind(form({ type: "shortcut", callback_id: "x" })), "invalid");
    assert.equal(kind("payload=a&payload=b"), "invalid");
    assert.equal(kind("text=hello"), "invalid");
    assert.equal(
      kind(JSON.stringify({ type: "url_verification", challenge: 1 }), "application/json"),
      "invalid",
    );
  });

  test("refuses JSON nested deeper than the limit before parsing it", () => {
    const deep = `{"type":"url_verification","challenge":${"[".repeat(MAX_DEPTH)}${"]".repeat(MAX_DEPTH)}}`;
    assert.deepEqual(parseInboundBody(deep, "application/json"), {
      kind: "invalid",
      why: `JSON nested deeper than ${MAX_DEPTH}`,
    });
  });
});

describe("depthOf", () => {
  test("counts brackets outside strings only, escapes included", () => {
    assert.equal(depthOf('{"a":[{"b":1}]}'), 3);
    assert.equal(depthOf('{"a":"[[[[\\"[[["}'), 1);
    assert.equal(depthOf("[]"), 1);
    assert.equal(depthOf('"x"'), 0);
  });
});
