import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  isEscalationDue,
  isNearExpiry,
  reminderRound,
  stepWaitingSince,
  withEscalatedStep,
} from "./step-timers.ts";
import type { StepSnapshot, WorkflowSnapshot } from "./workflow.ts";

const H = 3_600_000;
const t0 = new Date("2030-01-01T00:00:00.000Z");
const after = (ms: number): Date => new Date(t0.getTime() + ms);
const plain: StepSnapshot = { name: "step 1", approvers: ["role:approver"], mode: "any", min: 1 };
const step: StepSnapshot = {
  ...plain,
  remind_after_ms: H / 2,
  escalate_after_ms: 2 * H,
  escalate_to: ["group:dba"],
};

describe("step timers", () => {
  test("the first step waits from the request's creation, a later one from the approval that completed the one before", () => {
    const created = t0.toISOString();
    const approvals = [
      { step: 0, createdAt: after(H).toISOString() },
      { step: 0, createdAt: after(3 * H).toISOString() },
      { step: 1, createdAt: after(4 * H).toISOString() },
    ];
    assert.deepEqual(stepWaitingSince(created, approvals, 0), t0);
    assert.deepEqual(stepWaitingSince(created, approvals, 1), after(3 * H));
    assert.deepEqual(stepWaitingSince(created, approvals, 2), after(4 * H));
  });

  test("counts whole reminder intervals, none before the first has passed", () => {
    assert.equal(reminderRound(step, t0, after(H / 2 - 1)), 0);
    assert.equal(reminderRound(step, t0, after(H / 2)), 1);
    assert.equal(reminderRound(step, t0, after(H + 1)), 2);
    assert.equal(reminderRound(plain, t0, after(9 * H)), 0);
  });

  test("escalation is due once escalate_after has passed, and never again once escalated", () => {
    assert.equal(isEscalationDue(step, t0, after(2 * H - 1)), false);
    assert.equal(isEscalationDue(step, t0, after(2 * H)), true);
    assert.equal(isEscalationDue({ ...step, escalated: true }, t0, after(5 * H)), false);
    assert.equal(isEscalationDue(plain, t0, after(5 * H)), false);
  });

  test("escalating marks only that step", () => {
    const w: WorkflowSnapshot = {
      name: "w",
      auto_approve: "never",
      steps: [step, step],
      allow_self_approval: false,
      allow_same_approver_across_steps: false,
      break_glass_roles: [],
    };
    const widened = withEscalatedStep(w, 1);
    assert.equal(widened.steps[0]?.escalated, undefined);
    assert.equal(widened.steps[1]?.escalated, true);
    assert.equal(w.steps[1]?.escalated, undefined, "the input is not changed");
  });

  test("a request is near expiry in the last tenth of its time to live, and not after it", () => {
    const created = t0.toISOString();
    const expires = after(10 * H).toISOString();
    assert.equal(isNearExpiry(created, expires, after(9 * H - 1)), false);
    assert.equal(isNearExpiry(created, expires, after(9 * H)), true);
    assert.equal(isNearExpiry(created, expires, after(10 * H)), false);
  });
});
