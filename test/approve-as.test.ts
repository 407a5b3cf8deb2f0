/**
 * An approver who matches several selectors a step still needs says which one they approve as
 * (`dbward request approve ID --as group:security`, `as` in the API); without it the first is
 * taken. A selector they do not match, or one that needs nobody more, is refused.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { RequestView } from "@dbward/shared";
import { main } from "../cli/src/main.ts";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";
import { captureOutput } from "./support/capture-output.ts";

const CONFIG = `
databases: [{ name: shop, dialect: postgres, environments: [production] }]
workflows:
  - name: two-teams
    operations: [write]
    steps:
      - { name: both teams, approvers: ["group:dba", "group:security"], mode: all, min: 1 }
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: dana, name: Dana, roles: [approver], groups: [dba, security] }
  - { id: sam, name: Sam, roles: [approver], groups: [security] }
  - { id: root, name: Root, roles: [admin] }
agents: [{ id: agent-1 }]
`;

describe("approving as a chosen selector", () => {
  let h: BotHarness;
  before(async () => {
    h = await startBotHarness(CONFIG);
  });
  after(async () => h.stop());

  /** The selector each recorded approval counted under, from the audit trail. */
  async function selectors(id: number): Promise<unknown[]> {
    const res = await h.call(
      h.adminToken,
      "GET",
      `/api/audit?target=request:${id}&action=request.approval_recorded`,
    );
    return (res.body as { events: { details: { selector?: unknown } }[] }).events.map(
      (e) => e.details.selector,
    );
  }

  async function create(n: number): Promise<number> {
    const res = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
      database: "shop",
      environment: "production",
      sql: `UPDATE orders SET status = 'x' WHERE id = ${n}`,
      reason: "approve-as test",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return (res.body as RequestView).id;
  }

  test("the CLI's --as records the approval under that selector; the rest of the step stays open", async () => {
    const id = await create(1);
    const out = captureOutput();
    const env = { DBWARD_URL: h.url, DBWARD_TOKEN: await h.tokenFor("dana") };
    assert.equal(
      await main(["request", "approve", String(id), "--as", "group:security", "--json"], env, out),
      0,
    );
    const view = JSON.parse(out.stdout.join("")) as RequestView;
    assert.equal(view.status, "pending_approval", "group:dba still needs its approver");
    assert.deepEqual(await selectors(id), ["group:security"]);
    const sam = await h.call(await h.tokenFor("sam"), "POST", `/api/requests/${id}/approve`, {});
    assert.equal(sam.status, 403, "security is satisfied; Sam is not in dba");
  });

  test("without --as the first open selector is taken, as before", async () => {
    const id = await create(2);
    const res = await h.call(await h.tokenFor("dana"), "POST", `/api/requests/${id}/approve`, {});
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(await selectors(id), ["group:dba"]);
  });

  test("a selector the approver does not match, or a malformed one, is refused and changes nothing", async () => {
    const id = await create(3);
    const sam = await h.call(await h.tokenFor("sam"), "POST", `/api/requests/${id}/approve`, {
      as: "group:dba",
    });
    assert.equal(sam.status, 403);
    assert.match(JSON.stringify(sam.body), /you may approve as group:security/);
    const bad = await h.call(await h.tokenFor("dana"), "POST", `/api/requests/${id}/approve`, { as: "dba" });
    assert.equal(bad.status, 400);
    const view = (await h.call(await h.tokenFor("dana"), "GET", `/api/requests/${id}`)).body as RequestView;
    assert.deepEqual(view.approvals, []);
  });
});
