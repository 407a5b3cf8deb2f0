import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  approvalProgress,
  canDecide,
  describeStep,
  type ApprovalEntry,
  type Decider,
} from "./approval-decision.ts";
import type { WorkflowSnapshot } from "./workflow.ts";

const twoSteps: WorkflowSnapshot = {
  name: "prod-writes",
  auto_approve: "never",
  steps: [
    { name: "lead", approvers: ["role:approver"], mode: "any", min: 1 },
    { name: "dba", approvers: ["group:dba", "group:security"], mode: "all", min: 1 },
  ],
  allow_self_approval: false,
  allow_same_approver_across_steps: false,
  break_glass_roles: [],
};

const person = (id: string, roles: Decider["roles"] = ["approver"], groups: string[] = []): Decider => ({
  id,
  roles,
  groups,
});
const pending = (workflow = twoSteps) => ({
  status: "pending_approval" as const,
  requester: "alice",
  workflow,
});

describe("approval decisions", () => {
  test("refuses the requester approving their own request", () => {
    const r = canDecide(pending(), person("alice"), []);
    assert.deepEqual(r.ok ? null : r.code, "self_approval");
  });

  test("lets the requester approve when the workflow explicitly allows it", () => {
    const r = canDecide(pending({ ...twoSteps, allow_self_approval: true }), person("alice"), []);
    assert.equal(r.ok, true);
  });

  test("refuses a decision on a request that is no longer pending", () => {
    const r = canDecide({ ...pending(), status: "approved" }, person("bob"), []);
    assert.equal(r.ok ? null : r.code, "not_pending");
  });

  test("refuses someone no selector of the current step matches, naming what the step needs", () => {
    const r = canDecide(pending(), person("eve", ["requester"]), []);
    assert.equal(r.ok, false);
    assert.match(r.ok ? "" : r.message, /lead of workflow prod-writes needs 1 of role:approver/);
  });

  test("lets someone who matches several open selectors say which one they approve as", () => {
    const afterLead = [{ approver: "bob", step: 0, selector: "role:approver" }];
    const both = person("dana", ["approver"], ["dba", "security"]);
    assert.deepEqual(canDecide(pending(), both, afterLead), { ok: true, step: 1, selector: "group:dba" });
    assert.deepEqual(canDecide(pending(), both, afterLead, "group:security"), {
      ok: true,
      step: 1,
      selector: "group:security",
    });
    const dbaDone = [...afterLead, { approver: "carl", step: 1, selector: "group:dba" }];
    const r = canDecide(pending(), both, dbaDone, "group:dba");
    assert.equal(r.ok ? null : r.code, "not_approver", "group:dba needs nobody more");
    assert.match(r.ok ? "" : r.message, /you may approve as group:security/);
    const stranger = canDecide(pending(), person("eve", ["approver"], ["dba"]), afterLead, "group:security");
    assert.match(
      stranger.ok ? "" : stranger.message,
      /cannot approve as group:security here; you may approve as group:dba/,
    );
  });

  test("assigns the first approval to step 0 under the selector that matched", () => {
    const r = canDecide(pending(), person("bob"), []);
    assert.deepEqual(r, { ok: true, step: 0, selector: "role:approver" });
  });

  test("moves to the next step once a step is satisfied", () => {
    const approvals: ApprovalEntry[] = [{ approver: "bob", step: 0, selector: "role:approver" }];
    const r = canDecide(pending(), person("dina", ["approver"], ["dba"]), approvals);
    assert.deepEqual(r, { ok: true, step: 1, selector: "group:dba" });
  });

  test("refuses one person approving two steps unless the workflow allows it", () => {
    const approvals: ApprovalEntry[] = [{ approver: "dina", step: 0, selector: "role:approver" }];
    const dina = person("dina", ["approver"], ["dba"]);
    assert.equal(canDecide(pending(), dina, approvals).ok, false);
    const lenient = { ...twoSteps, allow_same_approver_across_steps: true };
    assert.equal(canDecide(pending(lenient), dina, approvals).ok, true);
  });

  test("in all mode a selector already satisfied does not take another approval", () => {
    const approvals: ApprovalEntry[] = [
      { approver: "bob", step: 0, selector: "role:approver" },
      { approver: "dina", step: 1, selector: "group:dba" },
    ];
    const r = canDecide(pending(), person("dan", ["approver"], ["dba"]), approvals);
    assert.equal(r.ok ? null : r.code, "not_approver");
    const sec = canDecide(pending(), person("sam", ["approver"], ["security"]), approvals);
    assert.deepEqual(sec, { ok: true, step: 1, selector: "group:security" });
  });

  test("refuses the same approver twice in one step", () => {
    const wf: WorkflowSnapshot = {
      ...twoSteps,
      steps: [{ name: "two", approvers: ["role:approver"], mode: "any", min: 2 }],
    };
    const r = canDecide(pending(wf), person("bob"), [
      { approver: "bob", step: 0, selector: "role:approver" },
    ]);
    assert.equal(r.ok ? null : r.code, "already_decided");
  });

  test("progress is complete only when every step is satisfied", () => {
    const partial = approvalProgress(twoSteps, [
      { approver: "bob", step: 0, selector: "role:approver" },
      { approver: "dina", step: 1, selector: "group:dba" },
    ]);
    assert.equal(partial.current, 1);
    const full = approvalProgress(twoSteps, [
      { approver: "bob", step: 0, selector: "role:approver" },
      { approver: "dina", step: 1, selector: "group:dba" },
      { approver: "sam", step: 1, selector: "group:security" },
    ]);
    assert.equal(full.current, undefined);
  });

  test("user selectors match only that user", () => {
    const wf: WorkflowSnapshot = {
      ...twoSteps,
      steps: [{ name: "owner", approvers: ["user:carol"], mode: "any", min: 1 }],
    };
    assert.equal(canDecide(pending(wf), person("bob"), []).ok, false);
    assert.equal(canDecide(pending(wf), person("carol", ["requester"]), []).ok, true);
  });

  test("describes a step for people", () => {
    assert.equal(
      describeStep({ name: "x", approvers: ["group:dba", "group:security"], mode: "all", min: 1 }),
      "1 each of group:dba, group:security",
    );
  });

  describe("an escalated step", () => {
    const escalating = (mode: "any" | "all", escalated: boolean): WorkflowSnapshot => ({
      ...twoSteps,
      steps: [
        {
          name: "lead",
          approvers: mode === "any" ? ["role:approver"] : ["group:leads", "group:security"],
          mode,
          min: 1,
          escalate_after_ms: 7_200_000,
          escalate_to: ["group:dba"],
          ...(escalated ? { escalated: true } : {}),
        },
      ],
    });
    const dba = person("dana", ["requester"], ["dba"]);

    test("refuses an escalate_to member before the step escalated", () => {
      const r = canDecide(pending(escalating("any", false)), dba, []);
      assert.equal(r.ok ? null : r.code, "not_approver");
    });

    test("lets an escalate_to member decide once it escalated, under their own selector", () => {
      const r = canDecide(pending(escalating("any", true)), dba, []);
      assert.deepEqual(r, { ok: true, step: 0, selector: "group:dba" });
      const progress = approvalProgress(escalating("any", true), [
        { approver: "dana", step: 0, selector: "group:dba" },
      ]);
      assert.equal(progress.current, undefined, "the approval counts");
    });

    test("in all mode, an escalate_to member stands in for a selector still open, not an extra one", () => {
      const w = escalating("all", true);
      const leads = person("lee", ["approver"], ["leads"]);
      const first = canDecide(pending(w), leads, []);
      assert.deepEqual(first, { ok: true, step: 0, selector: "group:leads" });
      const approvals: ApprovalEntry[] = [{ approver: "lee", step: 0, selector: "group:leads" }];
      assert.deepEqual(canDecide(pending(w), dba, approvals), {
        ok: true,
        step: 0,
        selector: "group:security",
      });
      const done = approvalProgress(w, [
        ...approvals,
        { approver: "dana", step: 0, selector: "group:security" },
      ]);
      assert.equal(done.current, undefined);
    });

    test("says who may decide, escalation included", () => {
      assert.equal(
        describeStep(escalating("any", true).steps[0]!),
        "1 of role:approver (escalated: group:dba too)",
      );
    });
  });
});
