import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SQL_RISKS } from "@dbward/shared";
import { parseBotConfig } from "../config/bot-config.ts";
import { parseStoredWorkflow } from "../store/stored-request-json.ts";
import { matchWorkflow, needsStepUp, type WorkflowSnapshot } from "./workflow.ts";

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

describe("step_up in the workflow snapshot", () => {
  const config = parseBotConfig(`
databases:
  - { name: shop, dialect: postgres, environments: [production, staging] }
workflows:
  - name: prod
    environment: production
    step_up: oidc
    steps: [{ approvers: ["role:approver"] }]
  - name: staging
    environment: staging
    step_up: { method: oidc, risk_at_least: high }
    steps: [{ approvers: ["role:approver"] }]
oidc: { issuer: "https://idp.example.com", audience: "https://dbward.example.com", client_id: cli }
step_up: { public_url: "https://dbward.example.com" }
`);
  const snapshot = (environment: string): WorkflowSnapshot => {
    const m = matchWorkflow(config.workflows, { database: "shop", environment, operation: "write" });
    assert.ok(m.ok);
    return m.workflow;
  };

  test("is frozen into the request as the workflow says, and reads back from the store", () => {
    assert.deepEqual(snapshot("production").step_up, { method: "oidc" });
    assert.deepEqual(snapshot("staging").step_up, { method: "oidc", risk_at_least: "high" });
    for (const env of ["production", "staging"]) {
      const stored = parseStoredWorkflow("7", JSON.stringify(snapshot(env)));
      assert.deepEqual(stored.step_up, snapshot(env).step_up);
    }
  });

  test("a stored snapshot with an unknown step-up method is refused, never read as none", () => {
    const bad = JSON.stringify({ ...snapshot("production"), step_up: { method: "sms" } });
    assert.throws(() => parseStoredWorkflow("7", bad), /step_up/);
  });
});
