import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Decider } from "../core/approval-decision.ts";
import type { WorkflowSnapshot } from "../core/workflow.ts";
import { approveAsChoicesOf } from "./list-approve-as-choices.ts";

const workflow = (mode: "any" | "all"): WorkflowSnapshot => ({
  name: "two-teams",
  auto_approve: "never",
  steps: [{ name: "both teams", approvers: ["group:dba", "group:security", "role:admin"], mode, min: 1 }],
  allow_self_approval: false,
  allow_same_approver_across_steps: false,
  break_glass_roles: [],
});
const pending = (mode: "any" | "all" = "all") => ({
  status: "pending_approval" as const,
  requester: "alice",
  workflow: workflow(mode),
});
const dana: Decider = { id: "dana", roles: ["approver"], groups: ["dba", "security"] };
const sam: Decider = { id: "sam", roles: ["approver"], groups: ["security"] };

describe("the approve-as choice", () => {
  test("offers every selector of an all step the approver matches and that still needs someone, the first taken by default", () => {
    assert.deepEqual(approveAsChoicesOf(pending(), dana, []), {
      options: ["group:dba", "group:security"],
      initial: "group:dba",
    });
  });

  test("offers nothing once only one of them still needs an approver", () => {
    const securityDone = [{ approver: "sam", step: 0, selector: "group:security" }];
    assert.equal(approveAsChoicesOf(pending(), dana, securityDone), undefined);
  });

  test("offers nothing to someone who matches one selector, or to anyone in an any step", () => {
    assert.equal(approveAsChoicesOf(pending(), sam, []), undefined);
    assert.equal(approveAsChoicesOf(pending("any"), dana, []), undefined);
  });

  test("offers nothing to someone who may not decide at all", () => {
    assert.equal(approveAsChoicesOf({ ...pending(), requester: "dana" }, dana, []), undefined);
    assert.equal(approveAsChoicesOf({ ...pending(), status: "approved" }, dana, []), undefined);
  });
});
