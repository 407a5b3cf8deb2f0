import assert from "node:assert/strict";
import { test } from "node:test";
import type { RequestId } from "@dbward/shared";
import { describeEachStoreDialect } from "./each-store-dialect-testing.ts";
import { findRequest } from "./requests-repo.ts";
import { requestRow } from "../../../test/support/request-row.ts";

const AT = "2030-01-01T12:00:00.000Z";
const WORKFLOW = {
  name: "writes",
  auto_approve: "never",
  steps: [{ name: "owners", approvers: ["role:approver"], mode: "any", min: 1 }],
  allow_self_approval: false,
  allow_same_approver_across_steps: false,
  break_glass_roles: [],
  max_rows: 10,
};
const LIMITS = { statement_timeout_ms: 30_000, row_cap: 1000, max_executions: null };

describeEachStoreDialect("a request's stored JSON is validated on the way out", (opened) => {
  let nextId = 1;
  const stored = async (workflow: unknown, limits: unknown = LIMITS): Promise<RequestId> => {
    const id = nextId++;
    const json = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
    await opened()
      .insertInto("requests")
      .values(
        requestRow({
          id,
          status: "dispatched",
          created_at: AT,
          expires_at: AT,
          workflow_json: json(workflow),
          limits_json: json(limits),
        }),
      )
      .execute();
    return id as RequestId;
  };

  test("reads a well-formed snapshot and its row guard as stored", async () => {
    const request = await findRequest(opened(), await stored(WORKFLOW));
    assert.equal(request?.workflow.max_rows, 10);
    assert.equal(request?.workflow.steps[0]?.approvers[0], "role:approver");
    assert.equal(request?.limits.row_cap, 1000);
  });

  test("refuses a row guard the bot could not sign, naming the request and the key", async () => {
    for (const max_rows of [-1, 2.5, "lots", 1e13]) {
      const id = await stored({ ...WORKFLOW, max_rows });
      await assert.rejects(findRequest(opened(), id), (err: Error) => {
        assert.match(err.message, new RegExp(`^request ${id} has a workflow_json .* at max_rows`));
        return true;
      });
    }
  });

  test("refuses a snapshot with a key no bot writes, or missing one it needs", async () => {
    const extra = await stored({ ...WORKFLOW, skip_approval: true });
    await assert.rejects(findRequest(opened(), extra), /workflow_json in the store of the wrong shape/);
    const missing = await stored({ ...WORKFLOW, steps: undefined });
    await assert.rejects(findRequest(opened(), missing), /workflow_json .* at steps/);
  });

  test("refuses limits that are not JSON or not limits", async () => {
    const garbled = await stored(WORKFLOW, "{not json");
    await assert.rejects(findRequest(opened(), garbled), /limits_json in the store that is not JSON/);
    const wrong = await stored(WORKFLOW, { ...LIMITS, row_cap: "all" });
    await assert.rejects(findRequest(opened(), wrong), /limits_json .* at row_cap/);
  });
});
