import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SQL_RISKS } from "@dbward/shared";
import { needsStepUp, type WorkflowSnapshot } from "./workflow.ts";

const base: WorkflowSnapshot = {
  name: "w",
  auto_approve: "never",
  steps: [{ name: "step 1", approvers: ["role:approver"], mode: "any", min: 1 }],
  allow_self_approval: false,
  allow_same_approver_across_steps: false,
  break_glass_roles: [],
};

describe("needsStepUp", () => {
  test("a workflow without step_up never needs it", () => {
    for (const risk of SQL_RISKS) assert.equal(needsStepUp(base, risk), false);
  });

  test("step_up: oidc needs it at every risk", () => {
    for (const risk of SQL_RISKS)
      assert.equal(needsStepUp({ ...base, step_up: { method: "oidc" } }, risk), true);
  });

  test("risk_at_least: high needs it from high up, and for a risk the review could not name", () => {
    const w: WorkflowSnapshot = { ...base, step_up: { method: "oidc", risk_at_least: "high" } };
    assert.deepEqual(
      SQL_RISKS.filter((r) => needsStepUp(w, r)),
      ["high", "critical", "unknown", "unavailable"],
    );
  });
});
