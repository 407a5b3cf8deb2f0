import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { RequestView } from "@dbward/shared";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";

describe("bot HTTP API", () => {
  let h: BotHarness;
  before(async () => {
    h = await startBotHarness();
  });
  after(async () => h.stop());

  test("creates a write request that waits for approval, then dispatches it after two approvals", async () => {
    const alice = await h.tokenFor("alice");
    const created = await h.call(alice, "POST", "/api/requests", {
      database: "shop",
      environment: "production",
      sql: "UPDATE orders SET status = 'x' WHERE id = 1",
      reason: "fix order 1",
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const view = created.body as RequestView;
    assert.equal(view.status, "pending_approval");
    assert.equal(view.operation, "write");
    assert.equal(view.workflow.name, "shop-prod-writes");
    const first = await h.call(await h.tokenFor("bob"), "POST", `/api/requests/${view.id}/approve`, {});
    assert.equal((first.body as RequestView).status, "pending_approval");
    const second = await h.call(await h.tokenFor("carol"), "POST", `/api/requests/${view.id}/approve`, {});
    assert.equal((second.body as RequestView).status, "dispatched");
  });
});
