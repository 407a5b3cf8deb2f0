/**
 * Schema context in the bot, driven over HTTP as an agent and people talk to it: an agent reports
 * the tables of a database × environment it serves (only there; the shape checked whole), the bot
 * keeps the latest, shows it only to people who may request there, names the tables a write
 * changes with their sizes and cascades on the request, and scores a write that cascades into a
 * large table a level higher (here: out of `risk_at_most: medium` auto-approval).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { RequestView, SchemaContextView, SchemaTable } from "@dbward/shared";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";

const CONFIG = `
databases:
  - name: shop
    dialect: postgres
    environments: [production, staging]
workflows:
  - name: medium-writes-auto
    operations: [write, read]
    auto_approve: { risk_at_most: medium }
    steps:
      - approvers: ["role:approver"]
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: carol, name: Carol, roles: [approver] }
  - { id: olga, name: Olga, roles: [operator] }
  - { id: root, name: Root, roles: [admin] }
agents:
  - id: agent-1
`;

const table = (name: string, rows: number, fks: SchemaTable["foreign_keys"] = []): SchemaTable => ({
  schema: "public",
  name,
  estimated_rows: rows,
  size_bytes: rows * 100,
  columns: [{ name: "id", type: "bigint", nullable: false }],
  primary_key: ["id"],
  foreign_keys: fks,
  indexes: [{ name: `${name}_pkey`, columns: ["id"], unique: true }],
});
const fk = (name: string, parent: string, on_delete: "cascade" | "no_action") => ({
  name,
  columns: ["parent_id"],
  references: { schema: "public", table: parent, columns: ["id"] },
  on_delete,
  on_update: "no_action" as const,
});
const TABLES: SchemaTable[] = [
  table("customers", 1200),
  table("orders", 40_000, [fk("orders_customer_fk", "customers", "cascade")]),
  table("order_items", 5_000_000, [fk("items_order_fk", "orders", "cascade")]),
  table("notes", 10, [fk("notes_customer_fk", "customers", "no_action")]),
];

describe("schema context in the bot", () => {
  let h: BotHarness;
  before(async () => {
    h = await startBotHarness(CONFIG);
    const poll = await h.call(h.agentTokens["agent-1"] ?? "", "POST", "/api/agent/poll", {
      capabilities: [{ database: "shop", environment: "production", operations: ["read", "write"] }],
      wait_ms: 0,
    });
    assert.equal(poll.status, 200);
  });
  after(async () => h.stop());

  const agent = () => h.agentTokens["agent-1"] ?? "";
  const report = (body: Record<string, unknown>) =>
    h.call(agent(), "POST", "/api/agent/schema", {
      database: "shop",
      environment: "production",
      collected_at: "2026-12-03T10:00:00.000Z",
      tables: TABLES,
      truncated: false,
      ...body,
    });
  const create = async (sql: string): Promise<RequestView> => {
    const res = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
      database: "shop",
      environment: "production",
      sql,
      reason: "schema context test",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as RequestView;
  };

  test("without a context a write is scored on its text alone, and names no tables", async () => {
    const r = await create("DELETE FROM customers WHERE id = 1");
    assert.equal(r.review.risk, "medium");
    assert.equal(r.status, "dispatched", "auto-approved at medium");
    assert.deepEqual(r.touched_tables, []);
    assert.equal(r.schema_collected_at, null);
  });

  test("an agent's report is checked whole: unknown keys, bad actions, other targets are refused and nothing is kept", async () => {
    const bad = [
      { tables: [{ ...TABLES[0], secret: "x" }] },
      {
        tables: [
          { ...TABLES[1], foreign_keys: [{ ...fk("f", "customers", "cascade"), on_delete: "explode" }] },
        ],
      },
      { tables: [{ ...TABLES[0], estimated_rows: -5 }] },
      { collected_at: "yesterday" },
      { truncated: "no" },
      { surprise: 1 },
    ];
    for (const body of bad) {
      const res = await report(body);
      assert.equal(res.status, 400, `${JSON.stringify(body).slice(0, 80)}: ${JSON.stringify(res.body)}`);
    }
    const elsewhere = await report({ environment: "staging" });
    assert.equal(elsewhere.status, 403, "no capability declared on shop/staging");
    const none = await h.call(await h.tokenFor("alice"), "GET", "/api/schema/shop/production");
    assert.equal(none.status, 404);
    assert.equal((none.body as { error: { code: string } }).error.code, "schema.not_found");
  });

  test("the latest report is kept and shown only to people who may request there", async () => {
    assert.equal((await report({})).status, 200);
    const seen = await h.call(await h.tokenFor("alice"), "GET", "/api/schema/shop/production");
    assert.equal(seen.status, 200, JSON.stringify(seen.body));
    const view = seen.body as SchemaContextView;
    assert.equal(view.agent, "agent-1");
    assert.equal(view.collected_at, "2026-12-03T10:00:00.000Z");
    assert.deepEqual(
      view.tables.map((t) => t.name),
      ["customers", "orders", "order_items", "notes"],
    );
    const operator = await h.call(await h.tokenFor("olga"), "GET", "/api/schema/shop/production");
    assert.equal(operator.status, 403, "an operator makes no requests, so sees no schema");
    const audit = (await h.call(h.adminToken, "GET", "/api/audit?action=schema.reported")).body as {
      events: { details: Record<string, unknown> }[];
    };
    assert.equal(audit.events.length, 1);
    assert.equal(audit.events[0]?.details.tables, 4);
  });

  test("a write that cascades into a large table climbs to high risk, leaves auto-approval, and names the cascade", async () => {
    const r = await create("DELETE FROM customers WHERE id = 2");
    assert.equal(r.review.risk, "high");
    assert.equal(r.status, "pending_approval", "no longer auto-approved at medium");
    assert.equal(r.schema_collected_at, "2026-12-03T10:00:00.000Z");
    assert.deepEqual(r.touched_tables, [
      {
        schema: "public",
        name: "customers",
        estimated_rows: 1200,
        size_bytes: 120_000,
        cascades: [
          { schema: "public", name: "orders", estimated_rows: 40_000, action: "cascade" },
          { schema: "public", name: "order_items", estimated_rows: 5_000_000, action: "cascade" },
        ],
      },
    ]);
    const small = await create("UPDATE notes SET id = id WHERE id = 3");
    assert.equal(small.review.risk, "medium", "a small table that cascades nowhere stays medium");
    assert.equal(small.touched_tables[0]?.cascades.length, 0);
    const unknown = await create("DELETE FROM ghosts WHERE id = 1");
    assert.deepEqual(unknown.touched_tables, [
      { schema: null, name: "ghosts", estimated_rows: null, size_bytes: null, cascades: [] },
    ]);
  });

  test("POST /api/preflight names the touched tables too, for people who may request there", async () => {
    const res = await h.call(await h.tokenFor("alice"), "POST", "/api/preflight", {
      database: "shop",
      environment: "production",
      sql: "DELETE FROM orders WHERE id = 9",
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const plan = res.body as { review: { risk: string }; touchedTables: RequestView["touched_tables"] };
    assert.equal(plan.review.risk, "high");
    assert.equal(plan.touchedTables[0]?.cascades[0]?.name, "order_items");
  });

  test("each report replaces the one before at once, however close together (what is read is never an older report)", async () => {
    const names = async () =>
      (
        (await h.call(await h.tokenFor("alice"), "GET", "/api/schema/shop/production"))
          .body as SchemaContextView
      ).tables.map((t) => t.name);
    assert.equal((await report({ tables: [table("first", 1)] })).status, 200);
    assert.deepEqual(await names(), ["first"]);
    assert.equal((await report({ tables: [table("second", 1)] })).status, 200);
    assert.deepEqual(await names(), ["second"], "same agent, same collected_at: still the new one");
    assert.equal((await report({ tables: TABLES })).status, 200);
    assert.equal((await names()).length, 4);
  });
});
