import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MAX_GUARD_ROWS } from "@dbward/shared";
import { autoApprovesByRows, awaitsDryRunCount, rowBound, withStepsWaivedByRows } from "./row-bounds.ts";
import type { WorkflowSnapshot } from "./workflow.ts";

const base: WorkflowSnapshot = {
  name: "w",
  auto_approve: "never",
  steps: [{ name: "step 1", approvers: ["role:approver"], mode: "any", min: 1 }],
  allow_self_approval: false,
  allow_same_approver_across_steps: false,
  break_glass_roles: [],
};
const guarded = (tolerance_percent: number, max_rows?: number): WorkflowSnapshot => ({
  ...base,
  guard: { kind: "dry_run_count", tolerance_percent },
  ...(max_rows === undefined ? {} : { max_rows }),
});

describe("row bounds from the dry run", () => {
  test("reads and DDL are never bounded; a write only by what its workflow says", () => {
    assert.deepEqual(rowBound(guarded(10, 5), "read", undefined), { ok: true, maxRows: null });
    assert.deepEqual(rowBound(guarded(10, 5), "ddl", undefined), { ok: true, maxRows: null });
    assert.deepEqual(rowBound(base, "write", 99), { ok: true, maxRows: null });
    assert.deepEqual(rowBound({ ...base, max_rows: 7 }, "write", undefined), { ok: true, maxRows: 7 });
  });

  test("the guard signs the count plus its tolerance, rounded down, or max_rows when lower", () => {
    assert.deepEqual(rowBound(guarded(0), "write", 1204), { ok: true, maxRows: 1204 });
    assert.deepEqual(rowBound(guarded(10), "write", 1204), { ok: true, maxRows: 1324 });
    assert.deepEqual(rowBound(guarded(10), "write", 0), { ok: true, maxRows: 0 });
    assert.deepEqual(rowBound(guarded(10, 1000), "write", 1204), { ok: true, maxRows: 1000 });
    assert.deepEqual(rowBound(guarded(9999), "write", 3), { ok: true, maxRows: 302 });
    assert.deepEqual(rowBound(guarded(9999), "write", Number.MAX_SAFE_INTEGER), {
      ok: true,
      maxRows: MAX_GUARD_ROWS,
    });
  });

  test("a write whose count let it approve itself is bound by that rule's max_rows when it runs", () => {
    const byRows: WorkflowSnapshot = { ...base, auto_approve: { max_rows: 10 } };
    assert.deepEqual(rowBound(byRows, "write", 7), { ok: true, maxRows: 10 });
    assert.deepEqual(rowBound({ ...byRows, max_rows: 5 }, "write", 3), { ok: true, maxRows: 5 });
    assert.deepEqual(
      rowBound(byRows, "write", 11),
      { ok: true, maxRows: null },
      "over it, people approved it",
    );
    assert.deepEqual(rowBound(byRows, "write", undefined), { ok: true, maxRows: null });
  });

  test("without a count the guard signs nothing, saying why", () => {
    const none = rowBound(guarded(10, 5000), "write", undefined);
    assert.equal(none.ok, false);
    assert.match(!none.ok ? none.reason : "", /no count/);
  });

  test("who waits for the count: the guard's writes; auto-approval by rows takes a count at most its bound", () => {
    assert.equal(awaitsDryRunCount(guarded(0), "write"), true);
    assert.equal(awaitsDryRunCount(guarded(0), "read"), false);
    assert.equal(awaitsDryRunCount(base, "write"), false);
    const byRows: WorkflowSnapshot = { ...base, auto_approve: { max_rows: 10 } };
    assert.equal(
      awaitsDryRunCount(byRows, "write"),
      false,
      "approvers need not wait: they may decide anyway",
    );
    assert.equal(autoApprovesByRows(byRows, "write", 10), true);
    assert.equal(autoApprovesByRows(byRows, "write", 11), false);
    assert.equal(autoApprovesByRows(byRows, "read", 0), false);
    assert.equal(autoApprovesByRows({ ...base, auto_approve: "always" }, "write", 0), false);
  });

  test("steps under their min_rows are waived once, with the count; reads and steps without min_rows never", () => {
    const w: WorkflowSnapshot = {
      ...base,
      steps: [
        { name: "a", approvers: ["role:approver"], mode: "any", min: 1 },
        { name: "b", approvers: ["role:approver"], mode: "any", min: 1, min_rows: 100 },
      ],
    };
    const waived = withStepsWaivedByRows(w, "write", 99);
    assert.deepEqual(waived?.steps[1]?.waived, { rows: 99 });
    assert.equal(waived?.steps[0]?.waived, undefined);
    assert.equal(withStepsWaivedByRows(w, "write", 100), undefined, "at the bound the step applies");
    assert.equal(withStepsWaivedByRows(w, "read", 1), undefined);
    assert.equal(
      waived === undefined ? "none" : withStepsWaivedByRows(waived, "write", 5),
      undefined,
      "once",
    );
  });

  test("a write whose count waived a step is bound under that step's min_rows when it runs", () => {
    const w: WorkflowSnapshot = {
      ...base,
      steps: [
        { name: "a", approvers: ["role:approver"], mode: "any", min: 1 },
        { name: "b", approvers: ["role:approver"], mode: "any", min: 1, min_rows: 100, waived: { rows: 5 } },
      ],
    };
    assert.deepEqual(rowBound(w, "write", 5), { ok: true, maxRows: 99 });
    assert.deepEqual(rowBound({ ...w, max_rows: 50 }, "write", 5), { ok: true, maxRows: 50 });
    const notWaived: WorkflowSnapshot = { ...w, steps: w.steps.map(({ waived: _, ...s }) => s) };
    assert.deepEqual(
      rowBound(notWaived, "write", 5),
      { ok: true, maxRows: null },
      "people approved every step",
    );
  });
});
