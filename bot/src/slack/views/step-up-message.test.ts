import assert from "node:assert/strict";
import { test } from "node:test";
import { stepUpLinkMessage } from "./step-up-message.ts";

test("the step-up answer carries the link in its blocks only, says it is personal and short-lived", () => {
  const url = "https://dbward.example.com/step-up/abc";
  const m = stepUpLinkMessage(12, url, 10);
  assert.ok(!m.text.includes(url), "the notification text does not carry the link");
  const body = JSON.stringify(m.blocks);
  assert.ok(body.includes(`<${url}|Sign in again to approve #12>`));
  assert.match(body, /works once/);
  assert.match(body, /10 minute/);
  assert.match(body, /Nothing is approved until you have signed in/);
});
