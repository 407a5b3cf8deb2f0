import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatReview } from "./format-review.ts";

describe("formatReview", () => {
  test("prints class, risk and no findings for a clean read", () => {
    assert.equal(
      formatReview({ class: "read", risk: "low", findings: [], statements: [] }),
      "class: read\nrisk:  low\nfindings: none",
    );
  });

  test("prints each finding with severity, rule, position and hint", () => {
    const text = formatReview(
      {
        class: "write",
        risk: "critical",
        findings: [
          {
            rule: "no_where_delete",
            severity: "block",
            message: "DELETE without WHERE",
            position: 12,
            hint: "add WHERE",
          },
        ],
        statements: [],
      },
      "SELECT 1;\nx DELETE FROM t",
    );
    assert.equal(
      text,
      [
        "class: write",
        "risk:  critical",
        "findings (1):",
        "  [block] no_where_delete at 2:3: DELETE without WHERE",
        "          hint: add WHERE",
      ].join("\n"),
    );
  });

  test("prints offsets when the SQL is not given, and omits what a finding lacks", () => {
    const text = formatReview({
      class: "write",
      risk: "unavailable",
      findings: [
        { rule: "parse_error", severity: "warn", message: "could not read", position: 4 },
        { rule: "x", severity: "warn", message: "no position" },
      ],
      statements: [],
    });
    assert.match(text, /\[warn\] parse_error at offset 4: could not read\n {2}\[warn\] x: no position$/);
  });
});
