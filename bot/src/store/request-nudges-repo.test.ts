import assert from "node:assert/strict";
import { test } from "node:test";
import type { RequestId } from "@dbward/shared";
import type { WorkflowSnapshot } from "../core/workflow.ts";
import { requestRow } from "../../../test/support/request-row.ts";
import { describeEachStoreDialect } from "./each-store-dialect-testing.ts";
import { inTransaction } from "./in-transaction.ts";
import { casWorkflow } from "./request-nudges-repo.ts";
import { findRequest } from "./requests-repo.ts";

const AT = "2030-01-01T12:00:00.000Z";
const LIMITS = JSON.stringify({ statement_timeout_ms: 30_000, row_cap: 1000, max_executions: null });

describeEachStoreDialect("the workflow snapshot's compare-and-set", (opened) => {
  let nextId = 1;
  const stored = async (workflowJson: string): Promise<RequestId> => {
    const id = nextId++;
    await opened()
      .insertInto("requests")
      .values(
        requestRow({
          id,
          status: "pending_approval",
          created_at: AT,
          expires_at: AT,
          workflow_json: workflowJson,
          limits_json: LIMITS,
        }),
      )
      .execute();
    return id as RequestId;
  };
  const step = { name: "big writes", approvers: ["role:approver"], mode: "any", min: 1 };
  const base = {
    name: "w",
    auto_approve: "never",
    allow_self_approval: false,
    allow_same_approver_across_steps: false,
    break_glass_roles: [],
  };

  test("matches a stored snapshot whose keys are in another order than the row mapper's (an escalated step)", async () => {
    // As escalation writes it: `escalated` appended after `min_rows`, where the mapper puts it before.
    const id = await stored(
      JSON.stringify({ ...base, steps: [{ ...step, min_rows: 100, escalated: true }] }),
    );
    const read = await findRequest(opened(), id);
    assert.ok(read !== undefined);
    const waived: WorkflowSnapshot = {
      ...read.workflow,
      steps: read.workflow.steps.map((s) => ({ ...s, waived: { rows: 5 } })),
    };
    const won = await inTransaction(opened(), (tx) =>
      casWorkflow(tx, id, read.workflow, waived, new Date(AT)),
    );
    assert.equal(won, true);
    assert.deepEqual((await findRequest(opened(), id))?.workflow.steps[0]?.waived, { rows: 5 });
  });

  test("refuses when the stored snapshot is another one, or the request is no longer pending", async () => {
    const id = await stored(JSON.stringify({ ...base, steps: [step] }));
    const read = await findRequest(opened(), id);
    assert.ok(read !== undefined);
    const other: WorkflowSnapshot = { ...read.workflow, name: "changed meanwhile" };
    assert.equal(
      await inTransaction(opened(), (tx) => casWorkflow(tx, id, other, read.workflow, new Date(AT))),
      false,
    );
    await opened().updateTable("requests").set({ status: "approved" }).where("id", "=", id).execute();
    assert.equal(
      await inTransaction(opened(), (tx) => casWorkflow(tx, id, read.workflow, other, new Date(AT))),
      false,
    );
  });
});
