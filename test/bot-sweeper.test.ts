/**
 * The sweeper's time-driven transitions over a real bot with short timeouts: an unclaimed dispatch
 * goes back to approved and is offered again; an expired lease makes the request lost, never
 * re-run (SECURITY.md: crash mid-execution); a result that arrives after that is only audited.
 * Waits poll the API until a condition holds, with a deadline; nothing asserts on timing.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type {
  AgentCapability,
  AuditEventView,
  AuditListView,
  ClaimResponse,
  ErrorBody,
  PollResponse,
  RequestView,
} from "@dbward/shared";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";

const CONFIG = `
databases:
  - name: shop
    dialect: postgres
    environments: [production]
workflows:
  - name: reads-auto
    operations: [read]
    auto_approve: always
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: olga, name: Olga, roles: [operator] }
  - { id: root, name: Root, roles: [admin] }
agents:
  - id: agent-1
execution:
  dispatch_timeout_ms: 1000
  lease_margin_ms: 1000
`;

const CAPS: AgentCapability[] = [{ database: "shop", environment: "production", operations: ["read"] }];
const DEADLINE_MS = 15_000;

let counter = 0;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("bot sweeper", () => {
  let h: BotHarness;
  let agent: string;
  before(async () => {
    h = await startBotHarness(CONFIG, { sweepIntervalMs: 50 });
    const token = h.agentTokens["agent-1"];
    assert.ok(token !== undefined);
    agent = token;
  });
  after(async () => h.stop());

  async function view(id: number): Promise<RequestView> {
    const res = await h.call(await h.tokenFor("olga"), "GET", `/api/requests/${id}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as RequestView;
  }

  /** Polls the request until `done` holds; fails with the last view after the deadline. */
  async function waitForRequest(id: number, done: (v: RequestView) => boolean): Promise<RequestView> {
    const deadline = Date.now() + DEADLINE_MS;
    for (;;) {
      const v = await view(id);
      if (done(v)) return v;
      if (Date.now() > deadline) assert.fail(`request ${id} never got there; last seen ${JSON.stringify(v)}`);
      await sleep(50);
    }
  }

  async function auditFor(id: number): Promise<AuditEventView[]> {
    const res = await h.call(h.adminToken, "GET", `/api/audit?target=request:${id}&limit=1000`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body as AuditListView).events;
  }

  async function poll(waitMs = 0): Promise<PollResponse> {
    const res = await h.call(agent, "POST", "/api/agent/poll", { capabilities: CAPS, wait_ms: waitMs });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as PollResponse;
  }

  async function createRead(): Promise<RequestView> {
    const res = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
      database: "shop",
      environment: "production",
      sql: `SELECT id FROM orders WHERE id = ${++counter}`,
      reason: "sweeper test",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as RequestView;
  }

  /**
   * Polls and claims the request's job. With a one-second dispatch timeout the sweeper may take
   * the offer back between poll and claim; the next poll offers it again.
   */
  async function claim(id: number): Promise<ClaimResponse> {
    const deadline = Date.now() + DEADLINE_MS;
    for (;;) {
      const job = (await poll()).jobs.find((j) => j.request_id === id);
      if (job !== undefined) {
        const res = await h.call(agent, "POST", `/api/agent/jobs/${job.job_id}/claim`, {});
        if (res.status === 200) return res.body as ClaimResponse;
        assert.equal(res.status, 409, JSON.stringify(res.body));
      }
      if (Date.now() > deadline) assert.fail(`could not claim request ${id}`);
      await sleep(20);
    }
  }

  async function claimAndLose(): Promise<{ request: RequestView; claim: ClaimResponse }> {
    const request = await createRead();
    const claimed = await claim(request.id);
    assert.equal((await view(request.id)).status, "running");
    const lost = await waitForRequest(request.id, (v) => v.status !== "running");
    assert.equal(lost.status, "lost");
    return { request: lost, claim: claimed };
  }

  test("returns an unclaimed dispatch to approved, audits it, and offers it again on the next poll", async () => {
    const r = await createRead();
    assert.equal(r.status, "dispatched");
    const back = await waitForRequest(r.id, (v) => v.status !== "dispatched");
    assert.equal(back.status, "approved");
    assert.deepEqual(back.executions, [], "nothing ran");
    const timedOut = (await auditFor(r.id)).filter((e) => e.action === "request.dispatch_timed_out");
    assert.ok(timedOut.length >= 1);
    assert.equal(timedOut[0]?.actor, "system");
    assert.equal(timedOut[0]?.details.from, "dispatched");
    assert.equal(timedOut[0]?.details.to, "approved");

    const offered = await poll();
    assert.ok(
      offered.jobs.some((j) => j.request_id === r.id),
      "the request is offered again",
    );
    const redispatched = (await auditFor(r.id)).filter(
      (e) => e.action === "request.dispatched" && e.details.redispatch === true,
    );
    assert.ok(redispatched.length >= 1, "the second dispatch is audited");
    const claimed = await claim(r.id);
    assert.equal(claimed.request_id, r.id);
    assert.equal(claimed.execution, 1, "the first execution, not a re-run");
  });

  test("marks a claimed job whose lease ran out as lost, audits it, and never offers it again", async () => {
    const { request, claim: claimed } = await claimAndLose();
    assert.equal(request.executions.length, 1);
    assert.equal(request.executions[0]?.status, "lost");
    assert.ok(request.status_reason !== null && request.status_reason !== "", "the status says why");
    const lost = (await auditFor(request.id)).filter((e) => e.action === "request.lost");
    assert.equal(lost.length, 1);
    assert.equal(lost[0]?.actor, "system");
    assert.equal(lost[0]?.outcome, "failure");

    for (let i = 0; i < 3; i++) {
      const offered = await poll(200);
      assert.ok(
        !offered.jobs.some((j) => j.request_id === request.id),
        "a lost job is never re-run by itself",
      );
    }
    const heartbeat = await h.call(agent, "POST", `/api/agent/jobs/${claimed.job_id}/heartbeat`, {});
    assert.equal(heartbeat.status, 409);
    assert.equal((heartbeat.body as ErrorBody).error.code, "job.lease_lost");
    const again = await view(request.id);
    assert.equal(again.status, "lost");
    assert.equal(again.executions.length, 1, "no second execution was started");
  });

  test("records a result that arrives after the lease was lost as late, without changing the status", async () => {
    const { request, claim: claimed } = await claimAndLose();
    const res = await h.call(agent, "POST", `/api/agent/jobs/${claimed.job_id}/result`, {
      outcome: "succeeded",
      duration_ms: 12,
      result: { columns: ["id"], rows: [[1]], row_count: 1, truncated: false },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { recorded: "late" });
    const late = (await auditFor(request.id)).filter((e) => e.action === "execution.late_result");
    assert.equal(late.length, 1);
    assert.equal(late[0]?.actor, "agent:agent-1");
    assert.equal(late[0]?.details.outcome, "succeeded");
    assert.equal(late[0]?.details.execution_status, "lost");
    const after = await view(request.id);
    assert.equal(after.status, "lost");
    assert.equal(after.executions[0]?.status, "lost");
    const result = await h.call(await h.tokenFor("alice"), "GET", `/api/requests/${request.id}/result`);
    assert.equal(result.status, 404, "a late result is not served as the request's result");
  });

  test("audits a late result once when the agent sends it again, and records a different one", async () => {
    const { request, claim: claimed } = await claimAndLose();
    const late = {
      outcome: "failed",
      duration_ms: 7,
      error: { code: "execution.failed", message: "deadlock detected" },
    };
    for (let i = 0; i < 3; i++) {
      const res = await h.call(agent, "POST", `/api/agent/jobs/${claimed.job_id}/result`, late);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body, { recorded: "late" }, "every resubmission is answered the same way");
    }
    const lateEvents = () =>
      auditFor(request.id).then((es) => es.filter((e) => e.action === "execution.late_result"));
    assert.equal((await lateEvents()).length, 1, "one event for one result sent three times");

    const other = { ...late, duration_ms: 8 };
    const res = await h.call(agent, "POST", `/api/agent/jobs/${claimed.job_id}/result`, other);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const events = await lateEvents();
    assert.deepEqual(
      events.map((e) => e.details.duration_ms),
      [7, 8],
      "a result that says something else is its own event",
    );
  });
});
