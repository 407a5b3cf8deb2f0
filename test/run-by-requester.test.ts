/**
 * Run modes and approvers' windows over a real bot (SECURITY.md principle 2: fail closed):
 * under `run: by_requester` an approved request waits in approved, offered to no agent and with
 * no token, until its requester — and only its requester, once, before its `run_by` — runs it;
 * an approver's `not_before` holds dispatch until the window opens. The bot's clock is moved by
 * hand; the sweeper runs every 50 ms against it.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { AuditListView, ErrorBody, PollResponse, RequestView } from "@dbward/shared";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";

const CONFIG = `
databases:
  - name: shop
    dialect: postgres
    environments: [production]
  - name: billing
    dialect: postgres
    environments: [production]
workflows:
  - name: shop-writes-on-demand
    database: shop
    operations: [write]
    run: by_requester
    run_within: 2h
    steps:
      - approvers: ["role:approver"]
  - name: shop-reads-on-demand
    database: shop
    operations: [read]
    auto_approve: always
    run: by_requester
  - name: billing-writes
    database: billing
    operations: [write]
    steps:
      - approvers: ["role:approver"]
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: bob, name: Bob, roles: [requester] }
  - { id: carol, name: Carol, roles: [approver] }
  - { id: olga, name: Olga, roles: [operator] }
  - { id: root, name: Root, roles: [admin] }
agents:
  - id: agent-1
execution:
  approved_ttl_ms: 600000
`;

const CAPS = [
  { database: "shop", environment: "production", operations: ["read", "write"] },
  { database: "billing", environment: "production", operations: ["write"] },
];
const MINUTE = 60_000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("run: by_requester and approvers' windows", () => {
  let h: BotHarness;
  let now = new Date();
  let counter = 0;
  before(async () => {
    h = await startBotHarness(CONFIG, { sweepIntervalMs: 50, clock: { now: () => now } });
  });
  after(async () => h.stop());

  const as = async (user: string, method: string, path: string, body?: unknown) =>
    h.call(await h.tokenFor(user), method, path, body);

  async function create(database: string, sql: string): Promise<RequestView> {
    const res = await as("alice", "POST", "/api/requests", {
      database,
      environment: "production",
      sql: `${sql} /* ${++counter} */`,
      reason: "run mode test",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as RequestView;
  }
  async function view(id: number): Promise<RequestView> {
    const res = await as("olga", "GET", `/api/requests/${id}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as RequestView;
  }
  async function approve(id: number, body: Record<string, unknown> = {}) {
    return as("carol", "POST", `/api/requests/${id}/approve`, body);
  }
  async function offered(id: number): Promise<string | undefined> {
    const res = await h.call(h.agentTokens["agent-1"] ?? "", "POST", "/api/agent/poll", {
      capabilities: CAPS,
      wait_ms: 0,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body as PollResponse).jobs.find((j) => j.request_id === id)?.job_id;
  }
  async function actions(id: number): Promise<string[]> {
    const res = await h.call(h.adminToken, "GET", `/api/audit?target=request:${id}&limit=1000`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body as AuditListView).events.map((e) => e.action);
  }
  async function waitFor(id: number, done: (v: RequestView) => boolean): Promise<RequestView> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const v = await view(id);
      if (done(v)) return v;
      if (Date.now() > deadline) assert.fail(`request ${id} never got there; last seen ${JSON.stringify(v)}`);
      await sleep(50);
    }
  }
  const codeOf = (body: unknown): string | undefined => (body as ErrorBody).error?.code;

  test("an approved write waits for its requester: no offer, no token, until they run it, once", async () => {
    const r = await create("shop", "UPDATE orders SET state = 'x' WHERE id = 1");
    assert.equal(r.workflow.run, "by_requester");
    const approved = await approve(r.id);
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    const waiting = approved.body as RequestView;
    assert.equal(waiting.status, "approved");
    assert.equal(waiting.run_schedule.run_by, new Date(now.getTime() + 120 * MINUTE).toISOString());
    assert.equal(waiting.run_schedule.run_requested_at, null);
    assert.equal(await offered(r.id), undefined, "no agent is offered it");

    const byApprover = await as("carol", "POST", `/api/requests/${r.id}/run`);
    assert.equal(byApprover.status, 403, JSON.stringify(byApprover.body));
    assert.equal(codeOf(byApprover.body), "auth.forbidden");
    const byOther = await as("bob", "POST", `/api/requests/${r.id}/run`);
    assert.ok([403, 404].includes(byOther.status), JSON.stringify(byOther.body));
    assert.equal((await view(r.id)).status, "approved", "refusals changed nothing");

    const ran = await as("alice", "POST", `/api/requests/${r.id}/run`);
    assert.equal(ran.status, 200, JSON.stringify(ran.body));
    assert.equal((ran.body as RequestView).status, "dispatched");
    assert.ok((ran.body as RequestView).run_schedule.run_requested_at !== null);
    const job = await offered(r.id);
    assert.ok(job !== undefined, "offered once its requester ran it");
    const claimed = await h.call(h.agentTokens["agent-1"] ?? "", "POST", `/api/agent/jobs/${job}/claim`, {});
    assert.equal(claimed.status, 200, JSON.stringify(claimed.body));

    const again = await as("alice", "POST", `/api/requests/${r.id}/run`);
    assert.equal(again.status, 409, JSON.stringify(again.body));
    assert.match((again.body as ErrorBody).error.message, /already been asked to run/);
    const audit = await actions(r.id);
    assert.equal(audit.filter((a) => a === "request.run_requested").length, 1);
    assert.equal(audit.filter((a) => a === "request.run_refused").length, byOther.status === 403 ? 2 : 1);
    assert.ok(audit.indexOf("request.run_requested") < audit.indexOf("request.dispatched"));
  });

  test("an auto-approved read under by_requester waits too; a pending one cannot be run yet", async () => {
    const read = await create("shop", "SELECT id FROM orders");
    assert.equal(read.status, "approved");
    assert.equal(await offered(read.id), undefined);
    const pending = await create("shop", "DELETE FROM orders WHERE id = 2");
    const early = await as("alice", "POST", `/api/requests/${pending.id}/run`);
    assert.equal(early.status, 409, JSON.stringify(early.body));
    assert.match((early.body as ErrorBody).error.message, /still waiting for approval/);
    const ran = await as("alice", "POST", `/api/requests/${read.id}/run`, {});
    assert.equal((ran.body as RequestView).status, "dispatched", JSON.stringify(ran.body));
  });

  test("expires when its requester does not run it within run_within, and cannot be run after", async () => {
    const r = await create("shop", "UPDATE orders SET state = 'y' WHERE id = 3");
    await approve(r.id);
    now = new Date(now.getTime() + 121 * MINUTE);
    const expired = await waitFor(r.id, (v) => v.status !== "approved");
    assert.equal(expired.status, "expired");
    assert.match(expired.status_reason ?? "", /did not run it in time/);
    const late = await as("alice", "POST", `/api/requests/${r.id}/run`);
    assert.equal(late.status, 409, JSON.stringify(late.body));
    assert.equal(await offered(r.id), undefined);
  });

  test("a request that runs on approval cannot be run by hand", async () => {
    const r = await create("billing", "UPDATE invoices SET paid = true WHERE id = 4");
    assert.equal(r.workflow.run, "on_approval");
    const res = await as("alice", "POST", `/api/requests/${r.id}/run`);
    assert.equal(res.status, 409, JSON.stringify(res.body));
    assert.match((res.body as ErrorBody).error.message, /nothing to run by hand/);
  });

  test("an approver's not_before holds dispatch until the window opens, and the time to run counts from it", async () => {
    const r = await create("billing", "UPDATE invoices SET paid = true WHERE id = 5");
    const at = new Date(now.getTime() + 30 * MINUTE).toISOString();
    const res = await approve(r.id, { not_before: at });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal((res.body as RequestView).status, "approved");
    assert.equal((res.body as RequestView).run_schedule.not_before, at);
    assert.equal(await offered(r.id), undefined, "not offered before its window");
    now = new Date(now.getTime() + 20 * MINUTE); // past the 10-minute ttl from approval, not from the window
    await sleep(200);
    assert.equal((await view(r.id)).status, "approved", "the ttl counts from the window");
    now = new Date(now.getTime() + 11 * MINUTE);
    assert.ok((await offered(r.id)) !== undefined, "offered once the window opened");
    assert.equal((await view(r.id)).status, "dispatched");
  });

  test("refuses a not_before that is not a zoned future time within 7 days, recording no approval", async () => {
    const r = await create("billing", "UPDATE invoices SET paid = true WHERE id = 6");
    for (const not_before of [
      "tonight",
      "2026-01-01T22:00:00",
      new Date(now.getTime() - MINUTE).toISOString(),
      5,
    ]) {
      const res = await approve(r.id, { not_before });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(codeOf(res.body), "request.invalid");
    }
    const after = await view(r.id);
    assert.equal(after.status, "pending_approval");
    assert.deepEqual(after.approvals, []);
  });

  test("by_requester with a window: the run is asked for early and dispatched when the window opens", async () => {
    const r = await create("shop", "UPDATE orders SET state = 'z' WHERE id = 7");
    const at = new Date(now.getTime() + 15 * MINUTE).toISOString();
    await approve(r.id, { not_before: at });
    const waiting = await view(r.id);
    assert.equal(waiting.run_schedule.run_by, new Date(Date.parse(at) + 120 * MINUTE).toISOString());
    const ran = await as("alice", "POST", `/api/requests/${r.id}/run`);
    assert.equal((ran.body as RequestView).status, "approved", "asked, but its window holds it");
    assert.equal(await offered(r.id), undefined);
    now = new Date(Date.parse(at) + 1000);
    assert.ok((await offered(r.id)) !== undefined);
  });
});
