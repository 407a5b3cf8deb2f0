/**
 * Run modes and approvers' windows under attack (SECURITY.md principles 2, 4 and 6): nobody but
 * an active requester who may still make requests runs a `run: by_requester` request, it runs
 * once, never before an approver's `not_before` and never after its `run_by`, and no agent gets
 * a token for it before then — whatever path (a guessed job id, a poll after a dispatch timeout,
 * two clicks at once, a cancel racing the run) is tried. Approvers' windows that are not a zoned
 * future time within 7 days are refused and leave nothing behind. Waiting requests must not keep
 * other work from the agents. Over a real bot whose clock is moved by hand.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { AuditListView, ErrorBody, PollResponse, RequestView } from "@dbward/shared";
import { parseBotConfig } from "@dbward/bot";
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
  - name: billing-ddl-two-steps
    database: billing
    operations: [ddl]
    steps:
      - approvers: ["role:approver"]
      - approvers: ["role:approver"]
  - name: billing-writes
    database: billing
    operations: [write]
    steps:
      - approvers: ["role:approver"]
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: bob, name: Bob, roles: [requester] }
  - { id: erin, name: Erin, roles: [requester] }
  - { id: carol, name: Carol, roles: [approver] }
  - { id: dan, name: Dan, roles: [approver] }
  - { id: dave, name: Dave, roles: [requester, approver] }
  - { id: olga, name: Olga, roles: [operator] }
  - { id: root, name: Root, roles: [admin] }
agents:
  - id: agent-1
execution:
  approved_ttl_ms: 600000
  dispatch_timeout_ms: 60000
http:
  rate_limits:
    request_create: { burst: 1000, per_minute: 1000 }
`;

const CAPS = [
  { database: "shop", environment: "production", operations: ["read", "write"] },
  { database: "billing", environment: "production", operations: ["write", "ddl"] },
];
const MINUTE = 60_000;
const DAY = 1440 * MINUTE;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const codeOf = (body: unknown): string | undefined => (body as ErrorBody).error?.code;
const messageOf = (body: unknown): string => (body as ErrorBody).error?.message ?? "";

/** A bot on CONFIG with a hand-moved clock, and the calls every suite below makes. */
function botUnderTest(sweepIntervalMs: number) {
  const s = {
    h: undefined as unknown as BotHarness,
    now: new Date("2030-06-03T09:00:00.000Z"),
    counter: 0,
  };
  before(async () => {
    s.h = await startBotHarness(CONFIG, { sweepIntervalMs, clock: { now: () => s.now } });
  });
  after(async () => s.h.stop());

  const advance = (ms: number): void => {
    s.now = new Date(s.now.getTime() + ms);
  };
  const as = async (user: string, method: string, path: string, body?: unknown) =>
    s.h.call(await s.h.tokenFor(user), method, path, body);
  const agent = (method: string, path: string, body?: unknown) =>
    s.h.call(s.h.agentTokens["agent-1"] ?? "", method, path, body);

  async function create(database: string, sql: string, requester = "alice"): Promise<RequestView> {
    const res = await as(requester, "POST", "/api/requests", {
      database,
      environment: "production",
      sql: `${sql} /* ${++s.counter} */`,
      reason: "run mode attack",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as RequestView;
  }
  async function view(id: number): Promise<RequestView> {
    const res = await as("olga", "GET", `/api/requests/${id}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as RequestView;
  }
  async function approve(id: number, body: Record<string, unknown> = {}, approver = "carol") {
    return as(approver, "POST", `/api/requests/${id}/approve`, body);
  }
  /** A shop write by `requester`, approved by Carol: it waits for its requester. */
  async function waiting(requester = "alice"): Promise<RequestView> {
    const r = await create("shop", "UPDATE orders SET state = 'x' WHERE id = 1", requester);
    const res = await approve(r.id);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal((res.body as RequestView).status, "approved");
    return res.body as RequestView;
  }
  async function poll(): Promise<PollResponse> {
    const res = await agent("POST", "/api/agent/poll", { capabilities: CAPS, wait_ms: 0 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as PollResponse;
  }
  async function offered(id: number): Promise<string | undefined> {
    return (await poll()).jobs.find((j) => j.request_id === id)?.job_id;
  }
  async function claim(jobId: string) {
    return agent("POST", `/api/agent/jobs/${jobId}/claim`, {});
  }
  async function actions(id: number): Promise<string[]> {
    const res = await s.h.call(s.h.adminToken, "GET", `/api/audit?target=request:${id}&limit=1000`);
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
  /** No agent can get the request: it is not offered, and a claim on its next job id is refused. */
  async function assertUnreachable(id: number, why: string): Promise<void> {
    assert.equal(await offered(id), undefined, `${why}: not offered`);
    const guessed = await claim(`${id}-1`);
    assert.equal(guessed.status, 409, `${why}: ${JSON.stringify(guessed.body)}`);
    assert.equal(codeOf(guessed.body), "request.invalid_transition");
  }
  return {
    s,
    advance,
    as,
    agent,
    create,
    view,
    approve,
    waiting,
    poll,
    offered,
    claim,
    actions,
    waitFor,
    assertUnreachable,
  };
}

describe("run: by_requester under attack: who may run it", () => {
  const t = botUnderTest(50);

  test("an approver, an operator, an admin and an agent token cannot run it, nor claim it by a guessed job id", async () => {
    const r = await t.waiting();
    for (const user of ["carol", "olga", "root"]) {
      const res = await t.as(user, "POST", `/api/requests/${r.id}/run`);
      assert.equal(res.status, 403, `${user}: ${JSON.stringify(res.body)}`);
      assert.equal(codeOf(res.body), "auth.forbidden", user);
    }
    const byAgent = await t.agent("POST", `/api/requests/${r.id}/run`);
    assert.ok([401, 403].includes(byAgent.status), JSON.stringify(byAgent.body));
    const byNobody = await t.s.h.call("dbw_not_a_token", "POST", `/api/requests/${r.id}/run`);
    assert.equal(byNobody.status, 401, JSON.stringify(byNobody.body));
    await t.assertUnreachable(r.id, "refused runs");
    const v = await t.view(r.id);
    assert.equal(v.status, "approved");
    assert.equal(v.run_schedule.run_requested_at, null);
    const audit = await t.actions(r.id);
    assert.equal(audit.filter((a) => a === "request.run_refused").length, 3);
    assert.ok(!audit.includes("request.run_requested"));
    assert.ok(!audit.includes("request.claimed"));
  });

  test("a requester's token narrowed to approver cannot run their own request", async () => {
    const r = await t.waiting("dave");
    const res = await t.s.h.call(t.s.h.adminToken, "POST", "/api/tokens", {
      user: "dave",
      name: "approving only",
      roles: ["approver"],
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const narrow = (res.body as { token: string }).token;
    const ran = await t.s.h.call(narrow, "POST", `/api/requests/${r.id}/run`);
    assert.equal(ran.status, 403, JSON.stringify(ran.body));
    assert.equal(codeOf(ran.body), "auth.forbidden");
    await t.assertUnreachable(r.id, "a narrowed token");
    const full = await t.as("dave", "POST", `/api/requests/${r.id}/run`);
    assert.equal((full.body as RequestView).status, "dispatched", JSON.stringify(full.body));
  });

  test("a suspended requester cannot run it: the suspension cancels it and revokes their tokens", async () => {
    const r = await t.waiting("bob");
    const suspended = await t.s.h.call(t.s.h.adminToken, "POST", "/api/users/bob/suspend", {
      reason: "left the team",
    });
    assert.equal(suspended.status, 200, JSON.stringify(suspended.body));
    const ran = await t.as("bob", "POST", `/api/requests/${r.id}/run`);
    assert.ok([401, 403].includes(ran.status), JSON.stringify(ran.body));
    const v = await t.view(r.id);
    assert.equal(v.status, "cancelled");
    assert.equal(v.run_schedule.run_requested_at, null);
    await t.assertUnreachable(r.id, "a suspended requester's request");
    const active = await t.s.h.call(t.s.h.adminToken, "POST", "/api/users/bob/activate", {
      reason: "back",
    });
    assert.equal(active.status, 200, JSON.stringify(active.body));
    const fresh = await t.s.h.call(t.s.h.adminToken, "POST", "/api/tokens", { user: "bob", name: "again" });
    assert.equal(fresh.status, 201, JSON.stringify(fresh.body));
    const again = await t.s.h.call(
      (fresh.body as { token: string }).token,
      "POST",
      `/api/requests/${r.id}/run`,
    );
    assert.equal(again.status, 409, JSON.stringify(again.body));
    await t.assertUnreachable(r.id, "reactivation does not bring it back");
  });

  test("a requester whose requester role a config reload removed cannot run it", async () => {
    const r = await t.waiting("erin");
    const reload = async (text: string) =>
      t.s.h.bot.reload({ ...parseBotConfig(text), state: t.s.h.bot.ctx.config().state });
    await reload(
      CONFIG.replace(
        "{ id: erin, name: Erin, roles: [requester] }",
        "{ id: erin, name: Erin, roles: [approver] }",
      ),
    );
    try {
      const ran = await t.as("erin", "POST", `/api/requests/${r.id}/run`);
      assert.equal(ran.status, 403, JSON.stringify(ran.body));
      assert.equal(codeOf(ran.body), "auth.forbidden");
      assert.match(messageOf(ran.body), /no longer allow making requests/);
      await t.assertUnreachable(r.id, "a requester without the role");
    } finally {
      await reload(CONFIG);
    }
    const ran = await t.as("erin", "POST", `/api/requests/${r.id}/run`);
    assert.equal((ran.body as RequestView).status, "dispatched", JSON.stringify(ran.body));
  });
});

describe("run: by_requester under attack: once, in time, and never twice", () => {
  const t = botUnderTest(50);

  test("two Run now calls at once: exactly one is accepted, one ask is audited, one job is offered", async () => {
    const r = await t.waiting();
    const results = await Promise.all(
      Array.from({ length: 4 }, () => t.as("alice", "POST", `/api/requests/${r.id}/run`)),
    );
    const statuses = results.map((x) => x.status).sort();
    assert.deepEqual(statuses, [200, 409, 409, 409], JSON.stringify(results));
    const audit = await t.actions(r.id);
    assert.equal(audit.filter((a) => a === "request.run_requested").length, 1);
    assert.equal(audit.filter((a) => a === "request.dispatched").length, 1);
    const job = await t.offered(r.id);
    assert.equal(job, `${r.id}-1`);
    const first = await t.claim(job);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const second = await t.claim(job);
    assert.equal(second.status, 409, JSON.stringify(second.body));
  });

  test("two Run now calls at once under a window: one ask, and nothing is offered before it opens", async () => {
    const r = await t.create("shop", "UPDATE orders SET state = 'w' WHERE id = 2");
    const at = new Date(t.s.now.getTime() + 30 * MINUTE).toISOString();
    assert.equal((await t.approve(r.id, { not_before: at })).status, 200);
    const results = await Promise.all([
      t.as("alice", "POST", `/api/requests/${r.id}/run`),
      t.as("alice", "POST", `/api/requests/${r.id}/run`),
    ]);
    assert.deepEqual(results.map((x) => x.status).sort(), [200, 409], JSON.stringify(results));
    assert.equal((await t.actions(r.id)).filter((a) => a === "request.run_requested").length, 1);
    await t.assertUnreachable(r.id, "its window has not opened");
    t.advance(30 * MINUTE);
    assert.equal(await t.offered(r.id), `${r.id}-1`, "offered once the window opened");
  });

  test("a cancel racing Run now: the request ends cancelled and no agent can get it", async () => {
    for (let i = 0; i < 3; i++) {
      const r = await t.waiting();
      const [cancel, run] = await Promise.all([
        t.as("alice", "POST", `/api/requests/${r.id}/cancel`, { reason: "changed my mind" }),
        t.as("alice", "POST", `/api/requests/${r.id}/run`),
      ]);
      assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
      assert.ok([200, 409].includes(run.status), JSON.stringify(run.body));
      assert.equal((await t.view(r.id)).status, "cancelled");
      await t.assertUnreachable(r.id, "a cancelled request");
    }
  });

  test("run, then no agent in time: back to approved, offered again past run_by, claimed once, never re-asked", async () => {
    const r = await t.waiting();
    t.advance(119 * MINUTE); // just inside run_within (2h)
    const ran = await t.as("alice", "POST", `/api/requests/${r.id}/run`);
    assert.equal((ran.body as RequestView).status, "dispatched", JSON.stringify(ran.body));
    t.advance(2 * MINUTE); // past the 1-minute dispatch timeout, and past run_by
    await t.waitFor(r.id, (v) => v.status !== "dispatched");
    await sleep(200);
    const back = await t.view(r.id);
    assert.equal(back.status, "approved", "the sweeper did not expire a request its requester ran in time");
    const again = await t.as("alice", "POST", `/api/requests/${r.id}/run`);
    assert.equal(again.status, 409, JSON.stringify(again.body));
    const job = await t.offered(r.id);
    assert.equal(job, `${r.id}-1`, "redispatched to the next capable poll");
    assert.equal((await t.claim(job)).status, 200);
    assert.equal((await t.actions(r.id)).filter((a) => a === "request.run_requested").length, 1);
  });

  test("after a dispatch timeout the time to find an agent still counts from the Run now", async () => {
    const r = await t.waiting();
    t.advance(60 * MINUTE);
    await t.as("alice", "POST", `/api/requests/${r.id}/run`);
    t.advance(2 * MINUTE);
    await t.waitFor(r.id, (v) => v.status === "approved");
    t.advance(9 * MINUTE); // 11 minutes after the Run now: past the 10-minute approved_ttl
    const expired = await t.waitFor(r.id, (v) => v.status !== "approved");
    assert.equal(expired.status, "expired");
    assert.match(expired.status_reason ?? "", /not run in time/);
    await t.assertUnreachable(r.id, "an expired request");
  });

  test("auto-approved by_requester reads wait too, and expire unrun after the default 24h", async () => {
    const r = await t.create("shop", "SELECT id FROM orders");
    assert.equal(r.status, "approved");
    assert.equal(r.run_schedule.run_by, new Date(t.s.now.getTime() + DAY).toISOString());
    await t.assertUnreachable(r.id, "an auto-approved read nobody ran");
    t.advance(23 * 60 * MINUTE);
    await sleep(200);
    assert.equal((await t.view(r.id)).status, "approved", "approved_ttl does not expire it while it waits");
    t.advance(61 * MINUTE);
    const expired = await t.waitFor(r.id, (v) => v.status !== "approved");
    assert.equal(expired.status, "expired");
    assert.match(expired.status_reason ?? "", /did not run it in time/);
  });

  test("refusing Run now on a request that ended unrun does not claim it was asked to run", async () => {
    const expired = await t.waiting();
    t.advance(121 * MINUTE);
    await t.waitFor(expired.id, (v) => v.status === "expired");
    const cancelled = await t.waiting();
    await t.as("alice", "POST", `/api/requests/${cancelled.id}/cancel`, { reason: "no longer needed" });
    for (const r of [expired, cancelled]) {
      const res = await t.as("alice", "POST", `/api/requests/${r.id}/run`);
      assert.equal(res.status, 409, JSON.stringify(res.body));
      assert.equal((await t.view(r.id)).run_schedule.run_requested_at, null, "it never was asked to run");
      assert.doesNotMatch(messageOf(res.body), /already been asked to run/, `#${r.id}`);
    }
  });
});

describe("run: by_requester under attack: run_by holds even when the sweeper is late", () => {
  // A sweeper that never gets round to it: the deadline is enforced where the run is asked for.
  const t = botUnderTest(3_600_000);

  test("at its run_by a request can no longer be run, and no agent is offered it", async () => {
    const r = await t.waiting();
    t.advance(120 * MINUTE);
    const res = await t.as("alice", "POST", `/api/requests/${r.id}/run`);
    assert.equal(res.status, 409, JSON.stringify(res.body));
    assert.match(messageOf(res.body), /had to be run by/);
    assert.equal((await t.view(r.id)).status, "approved", "the late sweeper has not expired it yet");
    await t.assertUnreachable(r.id, "past run_by");
  });
});

describe("approvers' windows under attack", () => {
  const t = botUnderTest(50);

  test("refuses windows that are not a zoned future time within 7 days, recording no approval and no window", async () => {
    const r = await t.create("billing", "UPDATE invoices SET paid = true WHERE id = 1");
    const iso = (ms: number) => new Date(t.s.now.getTime() + ms).toISOString();
    const hourAhead = iso(60 * MINUTE);
    for (const not_before of [
      hourAhead.replace(/\d\d:\d\d\.\d{3}Z$/, "59:60Z"), // a leap second
      `1${hourAhead}`, // year 12030
      `+0${hourAhead}`, // expanded year
      hourAhead.replace("Z", "+24:00"),
      hourAhead.replace(/T\d\d/, "T24").replace(/:\d\d:\d\d/, ":30:00"),
      hourAhead.toLowerCase(),
      `${hourAhead}\n`,
      ` ${hourAhead}`,
      hourAhead.replace("Z", ""),
      hourAhead.slice(0, 10),
      hourAhead.replace("Z", ".1234Z").replace(".000.", "."),
      hourAhead.replace(/-\d\d-\d\dT/, "-02-30T"),
      iso(7 * DAY + 1),
      iso(0),
      iso(-1),
      "2030-06-03T09:00:00Z".padEnd(2000, "0"),
      "",
      Date.parse(hourAhead),
      [hourAhead],
      { at: hourAhead },
      null,
      true,
    ]) {
      const res = await t.approve(r.id, { not_before });
      assert.ok(
        [400, 413].includes(res.status),
        `${JSON.stringify(not_before)}: ${JSON.stringify(res.body)}`,
      );
      if (res.status === 400) assert.equal(codeOf(res.body), "request.invalid", JSON.stringify(not_before));
    }
    const v = await t.view(r.id);
    assert.equal(v.status, "pending_approval");
    assert.deepEqual(v.approvals, []);
    assert.equal(v.run_schedule.not_before, null);
    assert.ok(!(await t.actions(r.id)).includes("request.approval_recorded"));
  });

  test("a zoned window is kept in UTC, and the last moment 7 days ahead is accepted", async () => {
    const r = await t.create("billing", "UPDATE invoices SET paid = true WHERE id = 2");
    const sevenDays = new Date(t.s.now.getTime() + 7 * DAY);
    // The same instant, written 23:59 ahead of UTC.
    const local = new Date(sevenDays.getTime() + (23 * 60 + 59) * MINUTE)
      .toISOString()
      .replace("Z", "+23:59");
    const res = await t.approve(r.id, { not_before: local });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal((res.body as RequestView).run_schedule.not_before, sevenDays.toISOString());
    assert.equal((res.body as RequestView).status, "approved");
    await t.assertUnreachable(r.id, "a window a week ahead");
  });

  test("an approval refused to its requester plants no window", async () => {
    const r = await t.create("billing", "UPDATE invoices SET paid = true WHERE id = 3", "dave");
    const at = new Date(t.s.now.getTime() + 3 * DAY).toISOString();
    const self = await t.approve(r.id, { not_before: at }, "dave");
    assert.equal(self.status, 403, JSON.stringify(self.body));
    assert.equal((await t.view(r.id)).run_schedule.not_before, null);
    const res = await t.approve(r.id);
    assert.equal((res.body as RequestView).status, "dispatched", "no window holds it");
  });

  test("the latest window of several approvers holds; a later approver cannot shorten it", async () => {
    const r = await t.create("billing", "CREATE INDEX invoices_paid ON invoices (paid)");
    const late = new Date(t.s.now.getTime() + 2 * 60 * MINUTE).toISOString();
    const early = new Date(t.s.now.getTime() + 10 * MINUTE).toISOString();
    const first = await t.approve(r.id, { not_before: late }, "carol");
    assert.equal((first.body as RequestView).status, "pending_approval", JSON.stringify(first.body));
    const second = await t.approve(r.id, { not_before: early }, "dan");
    assert.equal((second.body as RequestView).status, "approved", JSON.stringify(second.body));
    assert.equal((second.body as RequestView).run_schedule.not_before, late);
    t.advance(11 * MINUTE);
    await t.assertUnreachable(r.id, "past the earlier window, before the later one");
    t.advance(110 * MINUTE);
    assert.equal(await t.offered(r.id), `${r.id}-1`);
  });

  test("a window days ahead with a short approved_ttl: kept until it opens, expired only ttl after", async () => {
    const r = await t.create("billing", "UPDATE invoices SET paid = true WHERE id = 4");
    const at = new Date(t.s.now.getTime() + 5 * DAY).toISOString();
    assert.equal((await t.approve(r.id, { not_before: at })).status, 200);
    t.advance(5 * DAY - MINUTE);
    await sleep(200);
    assert.equal((await t.view(r.id)).status, "approved", "not expired while its window is shut");
    await t.assertUnreachable(r.id, "a minute before its window");
    t.advance(11 * MINUTE); // ten minutes after the window, and no agent polled
    const expired = await t.waitFor(r.id, (v) => v.status !== "approved");
    assert.equal(expired.status, "expired");
    await t.assertUnreachable(r.id, "expired after its window");
  });

  test("a request without a run schedule (as stored before run modes) runs on approval and is redispatched", async () => {
    const r = await t.create("billing", "UPDATE invoices SET paid = true WHERE id = 5");
    const row = await t.s.h.bot.store
      .selectFrom("requests")
      .select(["workflow_json", "run_by", "run_requested_at", "not_before"])
      .where("id", "=", r.id)
      .executeTakeFirstOrThrow();
    assert.deepEqual([row.run_by, row.run_requested_at, row.not_before], [null, null, null]);
    assert.ok(!("run" in (JSON.parse(row.workflow_json) as object)), "the snapshot has no run mode");
    assert.equal((await t.approve(r.id)).status, 200);
    t.advance(2 * MINUTE);
    await t.waitFor(r.id, (v) => v.status === "approved");
    assert.equal(await t.offered(r.id), `${r.id}-1`);
    t.advance(2 * MINUTE);
    await t.waitFor(r.id, (v) => v.status === "approved");
    t.advance(7 * MINUTE); // 11 minutes after the approval
    assert.equal((await t.waitFor(r.id, (v) => v.status !== "approved")).status, "expired");
  });
});

describe("run: by_requester under attack: waiting requests and the agents' queue", () => {
  const t = botUnderTest(50);

  test("requests waiting for their requesters do not hide a dispatched request from the agents", async () => {
    const urgent = await t.create("billing", "UPDATE invoices SET paid = true WHERE id = 6");
    const approved = await t.approve(urgent.id);
    assert.equal((approved.body as RequestView).status, "dispatched");
    // Within a day, 200 auto-approved reads that their requesters have not run (yet).
    for (let i = 0; i < 200; i++)
      await t.create("shop", "SELECT id FROM orders", i % 2 === 0 ? "alice" : "bob");
    const jobs = (await t.poll()).jobs;
    assert.ok(
      jobs.some((j) => j.request_id === urgent.id),
      `the dispatched request #${urgent.id} is offered; got ${JSON.stringify(jobs)}`,
    );
  });

  test("work only other agents can run does not hide this agent's work either", async () => {
    // 200 runnable reads on shop, the waiting ones above run by their requesters.
    const { requests } = (await t.as("olga", "GET", "/api/requests?status=approved&limit=500")).body as {
      requests: RequestView[];
    };
    for (const r of requests.filter((x) => x.database === "shop").slice(0, 200))
      await t.as(r.requester, "POST", `/api/requests/${r.id}/run`);
    const urgent = await t.create("billing", "UPDATE invoices SET paid = true WHERE id = 7");
    assert.equal(((await t.approve(urgent.id)).body as RequestView).status, "dispatched");
    const billingOnly = [{ database: "billing", environment: "production", operations: ["write"] }];
    const res = await t.agent("POST", "/api/agent/poll", { capabilities: billingOnly, wait_ms: 0 });
    const jobs = (res.body as PollResponse).jobs;
    assert.ok(
      jobs.some((j) => j.request_id === urgent.id),
      `a billing-only agent is offered #${urgent.id}; got ${JSON.stringify(jobs)}`,
    );
    assert.ok(jobs.every((j) => j.database === "billing"));
  });
});
