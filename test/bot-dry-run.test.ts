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
} from "@dbward/shared";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";

const CONFIG = `
databases:
  - name: shop
    dialect: postgres
    environments: [staging, production]
    dry_run: [production]
workflows:
  - name: everything-approved
    steps:
      - approvers: ["role:approver"]
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: carol, name: Carol, roles: [approver] }
  - { id: root, name: Root, roles: [admin] }
agents:
  - id: agent-1
`;

const ALL = ["read", "write", "ddl"];
const CAPS = [
  { database: "shop", environment: "staging", operations: ALL },
  { database: "shop", environment: "production", operations: ALL },
];
const PLAN = JSON.parse(
  readFileSync(join(import.meta.dirname, "fixtures/plans/postgres-update.json"), "utf8"),
) as unknown;

describe("dry runs in the bot", () => {
  let h: BotHarness;
  let n = 0;
  before(async () => {
    h = await startBotHarness(CONFIG);
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
});
