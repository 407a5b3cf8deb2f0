import assert from "node:assert/strict";
import { test } from "node:test";
import { STEP_UP_REFUSALS } from "../use-cases/step-up-sign-in.ts";
import { approvalRefusedPage, refusalPage } from "./step-up-pages.ts";

test("every refusal has a page that says nothing was approved or what to do", () => {
  for (const why of STEP_UP_REFUSALS) {
    const page = refusalPage(why, 7);
    assert.match(page, /^<!DOCTYPE html>/);
    assert.match(page, /Nothing|nothing/, why);
  }
});

test("a refusal message from the approval is escaped, never markup", () => {
  const page = approvalRefusedPage(3, `<script>alert("x")</script>`);
  assert.ok(!page.includes("<script>"));
  assert.ok(page.includes("&lt;script&gt;"));
});
