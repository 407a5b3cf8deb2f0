import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatRequest } from "./format-request.ts";
import { sampleRequest } from "../../test/support/slack/sample-cards.ts";

describe("dbward request show", () => {
  test("prints a write's row guard, so the requester sees the bound the approvers saw", () => {
    const base = sampleRequest();
    const text = formatRequest(sampleRequest({ workflow: { ...base.workflow, row_guard: 500 } }));
    assert.match(text, /row guard: at most 500 row\(s\) changed, or the write is rolled back/);
    assert.doesNotMatch(formatRequest(base), /row guard/);
  });

  test("shows invisible characters in the SQL escaped, as on every surface", () => {
    const text = formatRequest(sampleRequest({ sql: "SELECT 1 -- \u202e hidden" }));
    assert.match(text, /⟨U\+202E⟩/);
  });
});
