/**
 * Hostile review of schema context and dry-run counts, over HTTP as agents and people reach the
 * bot: reports that lie, are cut, or carry names built to mislead; schema reads by people who
 * should not see it; counts reported by the wrong agent, twice, or after the request moved on.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type {
  PollResponse,
  PreflightClaimResponse,
  RequestView,
  SchemaContextView,
  SchemaTable,
} from "@dbward/shared";
import { touchedTablesLine } from "../bot/src/slack/views/approval-message.ts";
import { schemaText } from "../cli/src/commands/schema.ts";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";

const CONFIG = `
databases:
  - name: shop
    dialect: postgres
    environments: [production, staging]
    dry_run: [staging]
  - name: legacy
    dialect: mysql
    environments: [production]
workflows:
  - name: medium-writes-auto
    environment: production
    operations: [write, read]
    auto_approve: { risk_at_most: medium }
    steps:
      - approvers: ["role:approver"]
  - name: staging-writes
    environment: staging
    operations: [write, read]
    steps:
      - approvers: ["role:approver"]
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: carol, name: Carol, roles: [approver] }
  - { id: olga, name: Olga, roles: [operator] }
  - { id: sam, name: Sam, roles: [requester] }
  - { id: root, name: Root, roles: [admin] }
agents:
  - id: agent-1
  - id: agent-2
`;

const table = (name: string, rows: number, fks: SchemaTable["foreign_keys"] = []): SchemaTable => ({
  schema: "public",
  name,
  estimated_rows: rows,
  size_bytes: rows * 100,
  columns: [{ name: "id", type: "bigint", nullable: false }],
  primary_key: ["id"],
  foreign_keys: fks,
  indexes: [],
});
const cascadeTo = (parent: string) => ({
  name: `fk_${parent}`,
  columns: ["parent_id"],
  references: { schema: "public", table: parent, columns: ["id"] },
  on_delete: "cascade" as const,
  on_update: "no_action" as const,
});
const ALL = ["read", "write", "ddl"];
const CAPS = [
  ...["production", "staging"].map((environment) => ({ database: "shop", environment, operations: ALL })),
  { database: "legacy", environment: "production", operations: ALL },
];

describe("schema context and dry-run counts under attack", () => {
  let h: BotHarness;
  let n = 0;
  before(async () => {
    h = await startBotHarness(CONFIG);
    for (const id of ["agent-1", "agent-2"]) assert.equal((await poll(id, CAPS)).status, 200);
  });
  after(async () => h.stop());

  const agent = (id = "agent-1") => h.agentTokens[id] ?? "";
  const poll = (id: string, capabilities: unknown, preflights?: string[]) =>
    h.call(agent(id), "POST", "/api/agent/poll", {
      capabilities,
      wait_ms: 0,
      ...(preflights === undefined ? {} : { preflights }),
    });
  const report = (body: Record<string, unknown>, id = "agent-1") =>
    h.call(agent(id), "POST", "/api/agent/schema", {
      database: "shop",
      environment: "production",
      collected_at: "2026-12-03T10:00:00.000Z",
      tables: [],
      truncated: false,
      ...body,
    });
  const create = async (environment: string, sql: string, user = "alice"): Promise<RequestView> => {
    const res = await h.call(await h.tokenFor(user), "POST", "/api/requests", {
      database: "shop",
      environment,
      sql: `${sql} /* ${++n} */`,
      reason: "attack test",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as RequestView;
  };
  const code = (res: { body: unknown }) => (res.body as { error?: { code?: string } }).error?.code;

  test("a cut report (the parent not carried, its large child is) still sees the cascade: the DELETE climbs out of auto-approval", async () => {
    // Largest first and cut at MAX_SCHEMA_TABLES: the small parent fell off, the child's key names it.
    const res = await report({
      tables: [table("events", 9_000_000, [cascadeTo("tenants")])],
      truncated: true,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const r = await create("production", "DELETE FROM tenants WHERE id = 1");
    assert.equal(r.review.risk, "high", "the cascade into 9,000,000 rows is known from the child's key");
    assert.equal(r.status, "pending_approval", "was auto-approved at medium before the fix");
    assert.deepEqual(r.touched_tables, [
      {
        schema: "public",
        name: "tenants",
        estimated_rows: null,
        size_bytes: null,
        cascades: [{ schema: "public", name: "events", estimated_rows: 9_000_000, action: "cascade" }],
      },
    ]);
  });

  test("names with a bidi override or a line break are escaped in the Review modal's line and in dbward schema show", async () => {
    const evil = "orders\u202e";
    const forged = "x\n• public.orders (~3 rows, 300 B)";
    const res = await report({
      tables: [
        { ...table(evil, 10), primary_key: ["id\u202e", "a\nprimary key (fake)"] },
        { ...table(forged, 10), foreign_keys: [{ ...cascadeTo(evil), columns: ["c\u2066"] }] },
      ],
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const seen = await h.call(await h.tokenFor("alice"), "GET", "/api/schema/shop/production");
    assert.equal(seen.status, 200);
    const text = schemaText(seen.body as SchemaContextView);
    assert.doesNotMatch(text, /[\u202e\u2066]/u, "no raw bidi control reaches the terminal");
    assert.equal(text.split("\n").length, 1 + 2 + 1, "a header, two tables, one key: no forged lines");
    assert.match(text, /⟨U\+202E⟩/);

    // Raw bidi in SQL is refused (invisible_characters); an escaped one names the same table.
    const r = await create("production", 'DELETE FROM U&"orders\\202E" WHERE id = 1');
    const line = touchedTablesLine(r) ?? "";
    assert.doesNotMatch(line, /[\u202e\u2066]/u);
    assert.equal(line.split("\n").length, 2, "a heading and one bullet");
    assert.match(line, /⟨U\+000A⟩/, "the cascade into the forged name shows its line break escaped");
  });

  test("a report for a target the bot does not serve is refused, even when the agent declared it", async () => {
    assert.equal(
      (await poll("agent-2", [...CAPS, { database: "ghost", environment: "production", operations: ALL }]))
        .status,
      200,
    );
    const res = await report({ database: "ghost" }, "agent-2");
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.equal((await poll("agent-2", CAPS)).status, 200);
  });

  test("odd numbers and bodies: Infinity (1e999), NaN-like strings, an unknown key are refused; a 3 MB body without an agent token gets 401", async () => {
    const base = JSON.stringify(table("a", 1));
    for (const t of [
      base.replace('"estimated_rows":1', '"estimated_rows":1e999'),
      base.replace('"size_bytes":100', '"size_bytes":"NaN"'),
      base.replace('"name":"a"', '"name":"a","extra":true'),
    ]) {
      const res = await fetch(`${h.url}/api/agent/schema`, {
        method: "POST",
        headers: { authorization: `Bearer ${agent()}`, "content-type": "application/json" },
        body: `{"database":"shop","environment":"production","collected_at":"2026-12-03T10:00:00.000Z","tables":[${t}],"truncated":false}`,
      });
      assert.equal(res.status, 400, `${t}: ${await res.text()}`);
    }
    const big = await fetch(`${h.url}/api/agent/schema`, {
      method: "POST",
      headers: { authorization: "Bearer not-a-token", "content-type": "application/json" },
      body: `{"tables":"${"x".repeat(3 * 1024 * 1024)}"}`,
    });
    assert.equal(big.status, 401);
  });

  test("GET /api/schema: a suspended user, an operator, traversal-like names are refused; POST /api/preflight shows an operator no tables", async () => {
    const sam = await h.tokenFor("sam");
    assert.equal((await h.call(sam, "GET", "/api/schema/shop/production")).status, 200);
    assert.equal(
      (await h.call(h.adminToken, "POST", "/api/users/sam/suspend", { reason: "attack test" })).status,
      200,
    );
    const suspended = await h.call(sam, "GET", "/api/schema/shop/production");
    assert.ok([401, 403].includes(suspended.status), JSON.stringify(suspended.body));
    const olga = await h.tokenFor("olga");
    assert.equal((await h.call(olga, "GET", "/api/schema/shop/production")).status, 403);
    const alice = await h.tokenFor("alice");
    for (const path of [
      "/api/schema/..%2f/x",
      "/api/schema/shop%2f..%2fshop/production",
      "/api/schema/shop/production%00",
    ]) {
      // Not a database or environment name at all: refused as bad input before any lookup.
      const res = await h.call(alice, "GET", path);
      assert.equal(res.status, 400, path);
      assert.equal((res.body as { error: { code: string } }).error.code, "request.invalid", path);
    }
    const plan = await h.call(olga, "POST", "/api/preflight", {
      database: "shop",
      environment: "production",
      sql: "DELETE FROM tenants WHERE id = 1",
    });
    if (plan.status === 200)
      assert.deepEqual(
        (plan.body as { touchedTables: unknown[] }).touchedTables,
        [],
        "no schema for an operator",
      );
    else assert.equal(plan.status, 403);
  });

  test("a dry-run count from an agent that did not claim it, a second count, and a count after approval change nothing", async () => {
    const r = await create("staging", "UPDATE tenants SET name = 'x' WHERE id > 0");
    const offers = (await poll("agent-1", CAPS, ["dry_run"])).body as PollResponse;
    const offer = (offers.preflights ?? []).find((o) => o.request_id === r.id);
    assert.ok(offer !== undefined);
    const claim = await h.call(agent(), "POST", `/api/agent/preflights/${offer.preflight_id}/claim`, {});
    assert.equal(claim.status, 200);
    const id = (claim.body as PreflightClaimResponse).preflight_id;
    const count = { outcome: "succeeded", duration_ms: 3, affected_rows: 2 };
    const other = await h.call(agent("agent-2"), "POST", `/api/agent/preflights/${id}/result`, count);
    assert.equal(other.status, 409, JSON.stringify(other.body));
    const approve = await h.call(await h.tokenFor("carol"), "POST", `/api/requests/${r.id}/approve`, {});
    assert.equal(approve.status, 200, JSON.stringify(approve.body));
    // Reported after approval by the claimer: recorded as a preflight, nothing else moves.
    const late = await h.call(agent(), "POST", `/api/agent/preflights/${id}/result`, count);
    assert.equal(late.status, 200, JSON.stringify(late.body));
    const twice = await h.call(agent(), "POST", `/api/agent/preflights/${id}/result`, {
      ...count,
      affected_rows: 0,
    });
    assert.equal(twice.status, 409, "the count is reported once");
    assert.equal(code(twice), "job.lease_lost");
    const again = ((await poll("agent-1", CAPS, ["dry_run"])).body as PollResponse).preflights ?? [];
    assert.equal(again.filter((o) => o.request_id === r.id).length, 0, "never offered again after approval");
  });

  test("a changed table the context does not know (a MySQL DELETE by alias names 'o', not orders) counts as large: no auto-approval", async () => {
    const res = await h.call(agent(), "POST", "/api/agent/schema", {
      database: "legacy",
      environment: "production",
      collected_at: "2026-12-03T10:00:00.000Z",
      tables: [table("orders", 10), table("customers", 10)],
      truncated: false,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const created = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
      database: "legacy",
      environment: "production",
      sql: "DELETE o FROM orders o JOIN customers c ON o.customer_id = c.id WHERE c.id = 1",
      reason: "alias delete",
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const r = created.body as RequestView;
    assert.equal(r.review.risk, "high", "'o' is not a table the context knows: nothing shows it is small");
    assert.equal(r.status, "pending_approval");
  });

  test("a write whose changed tables the review cannot name (a writable CTE) climbs to high where there is a context", async () => {
    assert.equal((await report({ tables: [table("orders", 10)] })).status, 200);
    const r = await create("production", "WITH d AS (DELETE FROM orders WHERE id = 1 RETURNING *) SELECT 1");
    assert.equal(r.review.class, "write");
    assert.equal(r.review.risk, "high");
    assert.equal(r.status, "pending_approval", "not auto-approved at medium");
  });
});
