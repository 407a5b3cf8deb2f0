/**
 * Dry runs as the bot keeps them, driven over HTTP the way an agent talks to it: a write waiting
 * for approval on a PostgreSQL database × environment whose config turns them on gets a dry run
 * to make beside its plan (never a read or a DDL, never another environment); it is offered only
 * to an agent that says it makes dry runs and may write there, claimed with a token signed for
 * `dry_run` alone, and reported once with the rows the statement changed before it was rolled
 * back. The count is shown to approvers and audited as a preflight; it never counts as an
 * execution. A report of the wrong shape is kept as a failure, not shown as a count.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  fromBase64url,
  type AuditEventView,
  type PollResponse,
  type PreflightClaimResponse,
  type RequestView,
  type SchemaTable,
} from "@dbward/shared";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";

const CONFIG = `
databases:
  - name: shop
    dialect: postgres
    environments: [staging, production, guarded, autorows, nodry, stepped]
    dry_run: [production, guarded, autorows, stepped]
workflows:
  - name: everything-approved
    steps:
      - approvers: ["role:approver"]
  - name: guarded-writes
    environment: guarded
    operations: [write]
    max_rows: 5000
    guard: dry_run_count
    guard_tolerance: "10%"
    break_glass_roles: [approver]
    steps:
      - approvers: ["role:approver"]
  - name: small-writes-auto
    environment: autorows
    operations: [write]
    auto_approve: { max_rows: 10 }
    steps:
      - approvers: ["role:approver"]
  - name: big-writes-need-two
    environment: stepped
    operations: [write]
    steps:
      - approvers: ["role:approver"]
      - { name: second approver, approvers: ["role:approver"], min_rows: 10000 }
  - name: guarded-without-dry-runs
    environment: nodry
    operations: [write]
    guard: dry_run_count
    steps:
      - approvers: ["role:approver"]
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: carol, name: Carol, roles: [approver] }
  - { id: dave, name: Dave, roles: [requester, approver] }
  - { id: root, name: Root, roles: [admin] }
agents:
  - id: agent-1
`;

const ALL = ["read", "write", "ddl"];
const CAPS = ["staging", "production", "guarded", "autorows", "nodry", "stepped"].map((environment) => ({
  database: "shop",
  environment,
  operations: ALL,
}));
const table = (name: string, fks: SchemaTable["foreign_keys"] = []): SchemaTable => ({
  schema: "public",
  name,
  estimated_rows: 100,
  size_bytes: 8192,
  columns: [],
  primary_key: ["id"],
  foreign_keys: fks,
  indexes: [],
});
const ORDERS = table("orders");
/** Customers' rows cascade into accounts: a count of customers is not the whole change. */
const CUSTOMERS = table("customers");
const ACCOUNTS_CASCADE = table("accounts", [
  {
    name: "accounts_customer_fk",
    columns: ["customer_id"],
    references: { schema: "public", table: "customers", columns: ["id"] },
    on_delete: "cascade",
    on_update: "no_action",
  },
]);
const PLAN = JSON.parse(
  readFileSync(join(import.meta.dirname, "fixtures/plans/postgres-update.json"), "utf8"),
) as unknown;

describe("dry runs in the bot", () => {
  let h: BotHarness;
  let n = 0;
  before(async () => {
    h = await startBotHarness(CONFIG);
    // A count decides only where the schema context shows the write cascades nowhere.
    const agentToken = h.agentTokens["agent-1"] ?? "";
    const polled = await h.call(agentToken, "POST", "/api/agent/poll", { capabilities: CAPS, wait_ms: 0 });
    assert.equal(polled.status, 200);
    for (const environment of ["autorows", "stepped"]) {
      const res = await h.call(agentToken, "POST", "/api/agent/schema", {
        database: "shop",
        environment,
        collected_at: "2026-12-03T10:00:00.000Z",
        truncated: false,
        tables: [ORDERS, CUSTOMERS],
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
  });
  after(async () => h.stop());

  const agent = () => h.agentTokens["agent-1"] ?? "";
  async function create(environment: string, sql: string): Promise<RequestView> {
    const res = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
      database: "shop",
      environment,
      sql: `${sql} /* ${++n} */`,
      reason: "dry run test",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as RequestView;
  }
  const view = async (id: number): Promise<RequestView> =>
    (await h.call(await h.tokenFor("carol"), "GET", `/api/requests/${id}`)).body as RequestView;
  async function offers(kinds: string[], caps: unknown = CAPS) {
    const res = await h.call(agent(), "POST", "/api/agent/poll", {
      capabilities: caps,
      wait_ms: 0,
      preflights: kinds,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body as PollResponse).preflights ?? [];
  }
  async function claimDryRun(requestId: number): Promise<PreflightClaimResponse> {
    const offer = (await offers(["dry_run"])).find((o) => o.request_id === requestId);
    assert.ok(offer !== undefined, `request ${requestId} has a dry run on offer`);
    const res = await h.call(agent(), "POST", `/api/agent/preflights/${offer.preflight_id}/claim`, {});
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as PreflightClaimResponse;
  }
  const report = (preflightId: string, body: unknown) =>
    h.call(agent(), "POST", `/api/agent/preflights/${preflightId}/result`, body);
  const claimsOf = (token: string): Record<string, unknown> =>
    JSON.parse(new TextDecoder().decode(fromBase64url(token.split(".")[1] ?? ""))) as Record<string, unknown>;
  const dryRunOf = (r: RequestView) => r.preflights.find((p) => p.kind === "dry_run");

  test("a pending write where dry runs are on gets one beside its plan; a read, a DDL or another environment get none", async () => {
    const write = await create("production", "UPDATE orders SET state = 'x' WHERE id > 0");
    assert.deepEqual(
      write.preflights.map((p) => [p.kind, p.status]),
      [
        ["dry_run", "pending"],
        ["explain", "pending"],
      ],
    );
    const read = await create("production", "SELECT id FROM orders");
    assert.deepEqual(
      read.preflights.map((p) => p.kind),
      ["explain"],
    );
    const ddl = await create("production", "CREATE INDEX orders_state ON orders (state)");
    assert.deepEqual(ddl.preflights, []);
    const staging = await create("staging", "UPDATE orders SET state = 'x' WHERE id > 0");
    assert.deepEqual(
      staging.preflights.map((p) => p.kind),
      ["explain"],
    );
  });

  test("is offered only to an agent that makes dry runs and may write there", async () => {
    const write = await create("production", "DELETE FROM orders WHERE id = 3");
    const kindsOffered = async (kinds: string[], caps?: unknown) =>
      (await offers(kinds, caps)).filter((o) => o.request_id === write.id).map((o) => o.kind);
    assert.deepEqual(
      await kindsOffered(["explain"]),
      ["explain"],
      "an agent that only plans is offered no dry run",
    );
    assert.deepEqual(await kindsOffered(["dry_run"]), ["dry_run"]);
    const readOnly = [{ database: "shop", environment: "production", operations: ["read"] }];
    assert.deepEqual(await kindsOffered(["explain", "dry_run"], readOnly), []);
  });

  test("claimed with a token for dry_run alone; the count is shown, audited, and no execution is recorded", async () => {
    const write = await create("production", "UPDATE orders SET state = 'shipped' WHERE state = 'paid'");
    const claim = await claimDryRun(write.id);
    assert.equal(claim.kind, "dry_run");
    const claims = claimsOf(claim.token);
    assert.equal(claims.purpose, "dry_run");
    assert.equal(claims.exe, 0);
    assert.equal(claims.max_rows, null);

    const res = await report(claim.preflight_id, {
      outcome: "succeeded",
      duration_ms: 35,
      affected_rows: 1204,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const after = await view(write.id);
    assert.equal(after.status, "pending_approval");
    assert.deepEqual(after.executions, []);
    const dry = dryRunOf(after);
    assert.equal(dry?.status, "succeeded");
    assert.equal(dry?.affected_rows, 1204);
    assert.equal(dry?.duration_ms, 35);
    assert.equal(dry?.summary, null);

    const again = await report(claim.preflight_id, {
      outcome: "succeeded",
      duration_ms: 1,
      affected_rows: 1,
    });
    assert.equal(again.status, 409, "reported once");
    assert.equal(dryRunOf(await view(write.id))?.affected_rows, 1204);

    const audit = (await h.call(h.adminToken, "GET", `/api/audit?target=request:${write.id}`)).body as {
      events: AuditEventView[];
    };
    const actions = audit.events.map((e) => e.action);
    assert.ok(actions.includes("request.preflight_claimed"), actions.join(", "));
    const finished = audit.events.find(
      (e) => e.action === "request.preflight_finished" && (e.details as { kind?: string }).kind === "dry_run",
    );
    assert.equal((finished?.details as { affected_rows?: number } | undefined)?.affected_rows, 1204);
    assert.ok(
      !actions.some((a) => a.startsWith("execution.") || a === "request.claimed"),
      actions.join(", "),
    );
  });

  test("a plan reported for a dry run, or a count for a plan, is recorded as a failure, not shown", async () => {
    const write = await create("production", "UPDATE orders SET state = 'y' WHERE id < 10");
    const dry = await claimDryRun(write.id);
    const planned = await report(dry.preflight_id, {
      outcome: "succeeded",
      duration_ms: 3,
      engine: "postgres",
      plan: PLAN,
    });
    assert.equal(planned.status, 200, JSON.stringify(planned.body));
    const recorded = dryRunOf(await view(write.id));
    assert.equal(recorded?.status, "failed");
    assert.equal(recorded?.error?.code, "preflight.invalid");
    assert.equal(recorded?.affected_rows, null);

    const offer = (await offers(["explain"])).find((o) => o.request_id === write.id);
    assert.ok(offer !== undefined);
    const claimed = await h.call(agent(), "POST", `/api/agent/preflights/${offer.preflight_id}/claim`, {});
    assert.equal(claimed.status, 200);
    const counted = await report(offer.preflight_id, {
      outcome: "succeeded",
      duration_ms: 3,
      affected_rows: 7,
    });
    assert.equal(counted.status, 200, JSON.stringify(counted.body));
    const explain = (await view(write.id)).preflights.find((p) => p.kind === "explain");
    assert.equal(explain?.status, "failed");
    assert.equal(explain?.error?.code, "preflight.invalid");
  });

  test("a count that is not a whole number ≥ 0, or comes with a plan, is refused 400 and the dry run keeps running", async () => {
    const write = await create("production", "DELETE FROM orders WHERE id = 42");
    const claim = await claimDryRun(write.id);
    for (const bad of [-1, 1.5, "3", null, Number.MAX_SAFE_INTEGER + 2]) {
      const res = await report(claim.preflight_id, {
        outcome: "succeeded",
        duration_ms: 1,
        affected_rows: bad,
      });
      assert.equal(res.status, 400, `affected_rows ${String(bad)}: ${JSON.stringify(res.body)}`);
    }
    const withPlan = await report(claim.preflight_id, {
      outcome: "succeeded",
      duration_ms: 1,
      affected_rows: 3,
      engine: "postgres",
      plan: PLAN,
    });
    assert.equal(withPlan.status, 400, JSON.stringify(withPlan.body));
    assert.equal(dryRunOf(await view(write.id))?.status, "running");
    const failed = await report(claim.preflight_id, {
      outcome: "failed",
      duration_ms: 2001,
      error: { code: "execution.timeout", message: "the dry run waited more than 2000 ms for a lock" },
    });
    assert.equal(failed.status, 200);
    const shown = dryRunOf(await view(write.id));
    assert.equal(shown?.status, "failed");
    assert.match(shown?.error?.message ?? "", /waited more than 2000 ms/);
  });

  /** The dry run of a new write on `environment`, claimed and reported with `body`. */
  async function counted(
    environment: string,
    sql: string,
    body: Record<string, unknown>,
  ): Promise<RequestView> {
    const write = await create(environment, sql);
    const claim = await claimDryRun(write.id);
    const res = await report(claim.preflight_id, { duration_ms: 4, ...body });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return view(write.id);
  }
  const approve = async (id: number, who = "carol") =>
    h.call(await h.tokenFor(who), "POST", `/api/requests/${id}/approve`, {});
  async function claimJob(requestId: number) {
    const poll = await h.call(agent(), "POST", "/api/agent/poll", { capabilities: CAPS, wait_ms: 0 });
    const job = (poll.body as PollResponse).jobs.find((j) => j.request_id === requestId);
    assert.ok(job !== undefined, `request ${requestId} is offered to the agent`);
    return h.call(agent(), "POST", `/api/agent/jobs/${job.job_id}/claim`, {});
  }

  test("guard: dry_run_count: no approval counts before the count is in; then the token signs the lower of max_rows and the count + 10%", async () => {
    const write = await create("guarded", "UPDATE orders SET state = 'z' WHERE id > 100");
    assert.equal(write.workflow.row_guard, null);
    assert.deepEqual(write.workflow.row_guard_from_dry_run, { tolerance_percent: 10 });
    const early = await approve(write.id);
    assert.equal(early.status, 409, JSON.stringify(early.body));
    assert.equal((early.body as { error: { code: string } }).error.code, "request.awaiting_count");
    assert.match((early.body as { error: { message: string } }).error.message, /has not counted/);
    assert.deepEqual((await view(write.id)).approvals, [], "the refused approval recorded nothing");

    const claim = await claimDryRun(write.id);
    assert.equal((await approve(write.id)).status, 409, "nor while the dry run runs");
    assert.equal(
      (await report(claim.preflight_id, { outcome: "succeeded", duration_ms: 9, affected_rows: 1204 }))
        .status,
      200,
    );
    assert.equal((await view(write.id)).workflow.row_guard, 1324, "floor(1204 × 1.1)");
    const approved = await approve(write.id);
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    assert.equal((approved.body as RequestView).status, "dispatched");
    const job = await claimJob(write.id);
    assert.equal(job.status, 200, JSON.stringify(job.body));
    assert.equal(claimsOf((job.body as { token: string }).token).max_rows, 1324);

    const big = await counted("guarded", "DELETE FROM orders WHERE id > 0", {
      outcome: "succeeded",
      affected_rows: 10_000,
    });
    assert.equal(big.workflow.row_guard, 5000, "max_rows is lower than the count + 10%");
    const none = await counted("guarded", "DELETE FROM orders WHERE id = -1", {
      outcome: "succeeded",
      affected_rows: 0,
    });
    assert.equal(none.workflow.row_guard, 0, "a write that changed nothing may change nothing");
  });

  test("guard: a dry run that failed means no approval, saying why; a rejection still goes through", async () => {
    const write = await counted("guarded", "UPDATE orders SET state = 'q' WHERE id = 5", {
      outcome: "failed",
      error: { code: "sql.unverified", message: "orders has a trigger" },
    });
    const refused = await approve(write.id);
    assert.equal(refused.status, 409);
    assert.match(
      (refused.body as { error: { message: string } }).error.message,
      /orders has a trigger.*cannot be approved/,
    );
    const rejected = await h.call(await h.tokenFor("carol"), "POST", `/api/requests/${write.id}/reject`, {
      reason: "no count, no run",
    });
    assert.equal(rejected.status, 200, JSON.stringify(rejected.body));
    assert.equal((rejected.body as RequestView).status, "rejected");
  });

  test("guard: refused at creation where no dry run can be made, and for break-glass", async () => {
    const res = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
      database: "shop",
      environment: "nodry",
      sql: "UPDATE orders SET state = 'n' WHERE id = 1",
      reason: "guard without dry runs",
    });
    assert.equal(res.status, 422, JSON.stringify(res.body));
    assert.equal((res.body as { error: { code: string } }).error.code, "request.no_workflow");
    assert.match(
      (res.body as { error: { message: string } }).error.message,
      /dry runs are off for shop\/nodry/,
    );
    const glass = await h.call(await h.tokenFor("dave"), "POST", "/api/requests", {
      database: "shop",
      environment: "guarded",
      sql: "UPDATE orders SET state = 'b' WHERE id = 1",
      reason: "break the glass",
      break_glass: true,
      break_glass_reason: "the site is down and this fixes it",
    });
    assert.equal(glass.status, 403, JSON.stringify(glass.body));
    assert.match((glass.body as { error: { message: string } }).error.message, /break-glass cannot wait/);
  });

  test("auto_approve max_rows: a write whose dry run changed at most 10 rows is approved by the system and dispatched; more, or no count, waits for a person", async () => {
    const small = await counted("autorows", "UPDATE orders SET state = 's' WHERE id < 8", {
      outcome: "succeeded",
      affected_rows: 7,
    });
    assert.equal(small.status, "dispatched");
    const audit = (await h.call(h.adminToken, "GET", `/api/audit?target=request:${small.id}`)).body as {
      events: AuditEventView[];
    };
    const auto = audit.events.find((e) => e.action === "request.auto_approved");
    assert.equal((auto?.details as { dry_run_rows?: number } | undefined)?.dry_run_rows, 7);

    const edge = await counted("autorows", "UPDATE orders SET state = 's' WHERE id < 11", {
      outcome: "succeeded",
      affected_rows: 10,
    });
    assert.equal(edge.status, "dispatched", "exactly the bound is approved");
    const large = await counted("autorows", "UPDATE orders SET state = 'l' WHERE id < 12", {
      outcome: "succeeded",
      affected_rows: 11,
    });
    assert.equal(large.status, "pending_approval");
    const failed = await counted("autorows", "UPDATE orders SET state = 'f' WHERE id < 3", {
      outcome: "failed",
      error: { code: "execution.timeout", message: "lock wait" },
    });
    assert.equal(failed.status, "pending_approval");
    const fresh = await create("autorows", "UPDATE orders SET state = 'p' WHERE id < 3");
    assert.equal(fresh.status, "pending_approval", "nothing is auto-approved before the count");
  });

  test("a step with min_rows is waived once the count is under it, audited; over it, or without a count, it is needed", async () => {
    const small = await counted("stepped", "UPDATE orders SET state = 'w' WHERE id < 13", {
      outcome: "succeeded",
      affected_rows: 12,
    });
    assert.equal(small.status, "pending_approval", "the first step still needs a person");
    assert.deepEqual(
      small.workflow.steps.map((st) => [st.name, st.waived_for_rows, st.satisfied]),
      [
        ["step 1", null, false],
        ["second approver", 12, true],
      ],
    );
    const audit = (await h.call(h.adminToken, "GET", `/api/audit?target=request:${small.id}`)).body as {
      events: AuditEventView[];
    };
    const waived = audit.events.find((e) => e.action === "request.steps_waived");
    assert.deepEqual(waived?.details, { steps: [1], dry_run_rows: 12 });
    const one = await approve(small.id);
    assert.equal(one.status, 200, JSON.stringify(one.body));
    assert.equal((one.body as RequestView).status, "dispatched", "one approval is enough for 12 rows");

    const big = await counted("stepped", "UPDATE orders SET state = 'b' WHERE id > 0", {
      outcome: "succeeded",
      affected_rows: 20_000,
    });
    assert.equal(big.workflow.steps[1]?.waived_for_rows, null);
    assert.equal(((await approve(big.id)).body as RequestView).status, "pending_approval");
    assert.equal(((await approve(big.id, "dave")).body as RequestView).status, "dispatched");

    const uncounted = await create("stepped", "UPDATE orders SET state = 'u' WHERE id = 1");
    assert.equal(
      ((await approve(uncounted.id)).body as RequestView).status,
      "pending_approval",
      "no count: both steps",
    );
  });

  test("a count decides nothing where the write may cascade, where the schema context does not know the table, or where the risk is not assessed", async () => {
    const agentToken = h.agentTokens["agent-1"] ?? "";
    const schema = await h.call(agentToken, "POST", "/api/agent/schema", {
      database: "shop",
      environment: "autorows",
      collected_at: "2026-12-03T11:00:00.000Z",
      truncated: false,
      tables: [ORDERS, CUSTOMERS, ACCOUNTS_CASCADE],
    });
    assert.equal(schema.status, 200, JSON.stringify(schema.body));
    const cascading = await counted("autorows", "DELETE FROM customers WHERE id = 1", {
      outcome: "succeeded",
      affected_rows: 1,
    });
    assert.equal(cascading.status, "pending_approval", "1 customer, but its accounts go too: not counted");
    const unknown = await counted("autorows", "UPDATE invoices SET state = 'x' WHERE id = 1", {
      outcome: "succeeded",
      affected_rows: 1,
    });
    assert.equal(unknown.status, "pending_approval", "a table the context does not know");
    const known = await counted("autorows", "UPDATE orders SET state = 'k' WHERE id = 1", {
      outcome: "succeeded",
      affected_rows: 1,
    });
    assert.equal(known.status, "dispatched", "the control: a known table that cascades nowhere");
  });

  test("a claim of a guarded write whose count is gone (a store edited meanwhile) fails the request unrun, never signs it unbounded", async () => {
    const write = await counted("guarded", "UPDATE orders SET state = 'g' WHERE id < 4", {
      outcome: "succeeded",
      affected_rows: 3,
    });
    const approved = await approve(write.id);
    assert.equal((approved.body as RequestView).status, "dispatched", JSON.stringify(approved.body));
    // The count the bound rests on disappears between the approval and the claim.
    await h.bot.ctx.store
      .updateTable("preflights")
      .set({ status: "failed", affected_rows: null, error_code: "preflight.lost", error_message: "gone" })
      .where("request_id", "=", write.id)
      .where("kind", "=", "dry_run")
      .execute();
    const claim = await claimJob(write.id);
    assert.equal(claim.status, 409, JSON.stringify(claim.body));
    assert.equal((claim.body as { error: { code: string } }).error.code, "execution.row_guard");
    const after = await view(write.id);
    assert.equal(after.status, "failed");
    assert.deepEqual(after.executions, [], "nothing was signed or run");
    assert.match(after.status_reason ?? "", /has no count/);
  });
});
