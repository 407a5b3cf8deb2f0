import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  dispatchReadiness,
  parseNotBefore,
  readySince,
  runDeadline,
  type RunScheduleFacts,
} from "./run-schedule.ts";
import type { WorkflowSnapshot } from "./workflow.ts";

const NOW = new Date("2030-01-01T12:00:00.000Z");
const ON_APPROVAL: WorkflowSnapshot = {
  name: "w",
  auto_approve: "never",
  steps: [],
  allow_self_approval: false,
  allow_same_approver_across_steps: false,
  break_glass_roles: [],
};
const BY_REQUESTER: WorkflowSnapshot = { ...ON_APPROVAL, run: "by_requester", run_within_ms: 3_600_000 };
const facts = (f: Partial<RunScheduleFacts>): RunScheduleFacts => ({
  workflow: ON_APPROVAL,
  approvedAt: NOW.toISOString(),
  runRequestedAt: null,
  notBefore: null,
  ...f,
});

describe("run schedule", () => {
  test("an on_approval request is ready at once; a by_requester one waits for its requester", () => {
    assert.deepEqual(dispatchReadiness(facts({}), NOW), { ready: true });
    assert.deepEqual(dispatchReadiness(facts({ workflow: BY_REQUESTER }), NOW), {
      ready: false,
      waitingFor: "requester",
    });
    const asked = facts({ workflow: BY_REQUESTER, runRequestedAt: NOW.toISOString() });
    assert.deepEqual(dispatchReadiness(asked, NOW), { ready: true });
  });

  test("a window holds either mode back until it opens, and no longer", () => {
    const notBefore = "2030-01-01T13:00:00.000Z";
    assert.deepEqual(dispatchReadiness(facts({ notBefore }), NOW), {
      ready: false,
      waitingFor: "window",
      until: notBefore,
    });
    assert.deepEqual(dispatchReadiness(facts({ notBefore }), new Date(notBefore)), { ready: true });
    const asked = facts({ workflow: BY_REQUESTER, runRequestedAt: NOW.toISOString(), notBefore });
    assert.equal(dispatchReadiness(asked, NOW).ready, false);
  });

  test("the time to find an agent counts from the last of approval, Run now and window", () => {
    assert.equal(readySince(facts({})), NOW.getTime());
    assert.equal(readySince(facts({ workflow: BY_REQUESTER })), undefined, "waiting for its requester");
    const later = "2030-01-01T12:30:00.000Z";
    assert.equal(readySince(facts({ workflow: BY_REQUESTER, runRequestedAt: later })), Date.parse(later));
    assert.equal(
      readySince(facts({ notBefore: "2030-01-01T14:00:00.000Z" })),
      Date.parse("2030-01-01T14:00:00.000Z"),
    );
  });

  test("a by_requester deadline runs from approval, or from a later window", () => {
    assert.equal(runDeadline(ON_APPROVAL, NOW, null), null);
    assert.equal(runDeadline(BY_REQUESTER, NOW, null), "2030-01-01T13:00:00.000Z");
    assert.equal(runDeadline(BY_REQUESTER, NOW, "2030-01-02T00:00:00.000Z"), "2030-01-02T01:00:00.000Z");
  });

  test("accepts a zoned future time within 7 days and says why it refuses others", () => {
    assert.deepEqual(parseNotBefore("2030-01-01T22:00:00+01:00", NOW), {
      ok: true,
      at: "2030-01-01T21:00:00.000Z",
    });
    for (const [text, why] of [
      ["2030-01-01T22:00:00", /with a zone/],
      ["tonight", /with a zone/],
      ["2030-02-30T22:00:00Z", /with a zone/],
      ["2030-01-01T11:00:00Z", /future/],
      ["2030-01-09T12:00:01Z", /7 days/],
    ] as const) {
      const parsed = parseNotBefore(text, NOW);
      assert.equal(parsed.ok, false, text);
      if (!parsed.ok) assert.match(parsed.why, why, text);
    }
  });
});
