/**
 * Outbound webhooks over a real bot, real local receivers and a real agent on SQLite: every
 * request event arrives signed (the receiver recomputes the HMAC itself), routed by database,
 * environment and event, with the SQL redacted; retries are recorded attempt by attempt; and a
 * receiver that fails, or a destination the SSRF guard refuses, never touches the request.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import type { AgentHandle } from "@dbward/agent";
import { listDeliveries, type DeliveryRow } from "../bot/src/webhooks/webhook-deliveries.ts";
import type { RequestView } from "@dbward/shared";
import { startTestAgent } from "./support/agent-harness.ts";
import { TEST_CONFIG, startBotHarness, type BotHarness } from "./support/bot-harness.ts";
import { waitForStatus } from "./support/wait.ts";
import { startWebhookReceiver, type ReceivedHook, type WebhookReceiver } from "./support/webhook-receiver.ts";

const SECRET = "whsec-test-0123456789abcdefghijklmnopqrstuvwxyz";
const hookConfig = (name: string, url: string, rest: string): string =>
  `  - { name: ${name}, url: "${url}", secret_env: HOOK_SECRET, backoff_ms: 10, timeout_ms: 3000, ${rest} }`;

interface Body {
  type: string;
  audit_seq: number;
  request: { id: number; sql_redacted: string; database: string; environment: string };
}
const bodyOf = (h: ReceivedHook): Body => JSON.parse(h.body) as Body;

describe("outbound webhooks", () => {
  let h: BotHarness;
  let agent: AgentHandle;
  let main: WebhookReceiver;
  let flaky: WebhookReceiver;
  let down: WebhookReceiver;
  const dir = mkdtempSync(join(tmpdir(), "dbward-webhooks-"));

  before(async () => {
    main = await startWebhookReceiver();
    flaky = await startWebhookReceiver((_h, i) => ({ status: i < 2 ? 503 : 204 }));
    down = await startWebhookReceiver(() => ({ status: 500 }));
    const config = [
      TEST_CONFIG.replace(
        "    operations: [write]\n    steps:",
        "    operations: [write]\n    break_glass_roles: [requester]\n    steps:",
      ),
      'webhooks_allow_private: ["127.0.0.1/32"]',
      "webhooks:",
      hookConfig(
        "prod",
        main.url,
        "database: shop, environment: production, events: [request.created, request.approved, request.rejected, request.expired]",
      ),
      hookConfig("glass", main.url, "database: shop, environment: staging, events: [request.break_glass]"),
      hookConfig("demo", main.url, "database: demo, events: [request.executed, request.failed]"),
      hookConfig("flaky", flaky.url, "database: legacy, events: [request.created]"),
      hookConfig("down", down.url, "database: legacy, events: [request.created], max_attempts: 2"),
      hookConfig(
        "blocked",
        `http://127.0.0.2:${main.port}/hook`,
        "database: legacy, events: [request.created]",
      ),
    ].join("\n");
    h = await startBotHarness(config, { env: { HOOK_SECRET: SECRET }, sweepIntervalMs: 50 });
    const target = join(dir, "demo.sqlite");
    const db = new Database(target);
    db.exec("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO items VALUES (1, 'a');");
    db.close();
    agent = await startTestAgent(h, "agent-1", [
      { name: "demo", environment: "local", driver: "sqlite", url: target, operations: ["read", "write"] },
    ]);
  });
  after(async () => {
    await agent.stop();
    await h.stop();
    await Promise.all([main.close(), flaky.close(), down.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  async function create(user: string, body: Record<string, unknown>): Promise<RequestView> {
    const res = await h.call(await h.tokenFor(user), "POST", "/api/requests", {
      reason: "webhook test",
      ...body,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as RequestView;
  }

  /** Waits until `receiver` got a `type` event for request `id`. */
  async function hookFor(receiver: WebhookReceiver, id: number, type: string): Promise<ReceivedHook> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const found = receiver.received.find((r) => bodyOf(r).request.id === id && bodyOf(r).type === type);
      if (found !== undefined) return found;
      assert.ok(
        Date.now() < deadline,
        `no ${type} for #${id}; got ${receiver.received.map((r) => r.body).join("\n")}`,
      );
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Waits until the request's delivery records satisfy `done`. */
  async function deliveriesUntil(id: number, done: (rows: DeliveryRow[]) => boolean): Promise<DeliveryRow[]> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const rows = await listDeliveries(h.bot.store, id);
      if (done(rows)) return rows;
      assert.ok(Date.now() < deadline, `deliveries for #${id} never settled: ${JSON.stringify(rows)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  test("signs every delivery so the receiver can recompute the HMAC over timestamp and body", async () => {
    const r = await create("alice", {
      database: "shop",
      environment: "production",
      sql: "UPDATE orders SET note = 'x' WHERE id = 1",
    });
    const hook = await hookFor(main, r.id, "request.created");
    const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(hook.headers["x-dbward-signature"]));
    assert.ok(m !== null, "the signature header has t= and v1=");
    const expected = createHmac("sha256", SECRET).update(`${m[1]}.${hook.body}`).digest("hex");
    assert.equal(m[2], expected, "the receiver's own HMAC matches");
    assert.ok(Math.abs(Number(m[1]) - Date.now() / 1000) < 300, "the timestamp is current");
    assert.equal(hook.headers["x-dbward-event"], "request.created");
    assert.equal(hook.headers["x-dbward-delivery"], `${bodyOf(hook).audit_seq}.prod`);
    assert.equal(hook.headers["content-type"], "application/json");
  });

  test("redacts the SQL: no literal of it appears anywhere in the body", async () => {
    const sql = "UPDATE customers SET email = 'ada@example.com', credit = 4242 WHERE id = 31337";
    const r = await create("alice", { database: "shop", environment: "production", sql });
    const hook = await hookFor(main, r.id, "request.created");
    for (const literal of ["ada@example.com", "4242", "31337"])
      assert.ok(!hook.body.includes(literal), literal);
    assert.equal(
      bodyOf(hook).request.sql_redacted,
      "UPDATE customers SET email = ?, credit = ? WHERE id = ?",
    );
    assert.ok(!hook.body.includes("webhook test"), "the free-text reason is left out");
  });

  test("sends approved once, when the last approval lands, and rejected on a rejection", async () => {
    const r = await create("alice", {
      database: "shop",
      environment: "production",
      sql: "DELETE FROM carts WHERE id = 5",
    });
    assert.equal(
      (await h.call(await h.tokenFor("bob"), "POST", `/api/requests/${r.id}/approve`, {})).status,
      200,
    );
    assert.equal(
      (await h.call(await h.tokenFor("carol"), "POST", `/api/requests/${r.id}/approve`, {})).status,
      200,
    );
    await hookFor(main, r.id, "request.approved");
    const types = main.received.filter((x) => bodyOf(x).request.id === r.id).map((x) => bodyOf(x).type);
    assert.deepEqual(types.sort(), ["request.approved", "request.created"]);

    const no = await create("alice", {
      database: "shop",
      environment: "production",
      sql: "DELETE FROM carts WHERE id = 6",
    });
    const rejected = await h.call(await h.tokenFor("bob"), "POST", `/api/requests/${no.id}/reject`, {
      reason: "not today",
    });
    assert.equal(rejected.status, 200, JSON.stringify(rejected.body));
    assert.ok(!(await hookFor(main, no.id, "request.rejected")).body.includes("not today"));
  });

  test("routes by database, environment and event: a staging request reaches only the staging hook", async () => {
    const staging = await create("alice", {
      database: "shop",
      environment: "staging",
      sql: "DELETE FROM carts WHERE id = 7",
    });
    const glass = await create("alice", {
      database: "shop",
      environment: "staging",
      sql: "DELETE FROM carts WHERE id = 8",
      break_glass: true,
      break_glass_reason: "the checkout is down and this row blocks it",
    });
    const hook = await hookFor(main, glass.id, "request.break_glass");
    assert.equal(hook.headers["x-dbward-delivery"], `${bodyOf(hook).audit_seq}.glass`);
    // Events are routed in audit order, so the earlier staging request was already routed: to nobody.
    assert.deepEqual(await listDeliveries(h.bot.store, staging.id), []);
    const glassRows = await deliveriesUntil(glass.id, (rows) => rows.every((x) => x.status !== "sending"));
    assert.deepEqual(
      glassRows.map((x) => [x.webhook, x.event]),
      [["glass", "request.break_glass"]],
    );
  });

  test("retries a failing receiver with backoff and records each attempt", async () => {
    const r = await create("alice", {
      database: "legacy",
      environment: "production",
      sql: "UPDATE t SET a = 1 WHERE id = 2",
    });
    const rows = await deliveriesUntil(r.id, (all) =>
      all.some((x) => x.webhook === "flaky" && x.status === "succeeded"),
    );
    const flakyRows = rows.filter((x) => x.webhook === "flaky");
    assert.deepEqual(
      flakyRows.map((x) => [x.attempt, x.status, x.http_status]),
      [
        [1, "failed", 503],
        [2, "failed", 503],
        [3, "succeeded", 204],
      ],
    );
    assert.ok(
      flakyRows[0]?.next_attempt_at !== null && flakyRows[1]?.next_attempt_at !== null,
      "retries were scheduled",
    );
    assert.equal(flakyRows[2]?.next_attempt_at, null);
    assert.equal(new Set(flakyRows.map((x) => x.delivery_id)).size, 1, "one delivery, three attempts");
    const bodies = flaky.received.slice(0, 3);
    assert.equal(new Set(bodies.map((b) => b.body)).size, 1, "every attempt sends the same body");
  });

  test("never lets a failing receiver or a refused destination affect the request", async () => {
    const r = await create("alice", {
      database: "legacy",
      environment: "production",
      sql: "UPDATE t SET a = 3 WHERE id = 4",
    });
    const approved = await h.call(await h.tokenFor("bob"), "POST", `/api/requests/${r.id}/approve`, {});
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    assert.equal((approved.body as RequestView).status, "dispatched");
    const rows = await deliveriesUntil(
      r.id,
      (all) =>
        all.filter((x) => x.webhook === "down" && x.status === "failed").length === 2 &&
        all.some((x) => x.webhook === "blocked"),
    );
    const blocked = rows.filter((x) => x.webhook === "blocked");
    assert.deepEqual(
      blocked.map((x) => [x.attempt, x.status]),
      [[1, "refused"]],
      "a refused destination is not retried",
    );
    assert.match(blocked[0]?.error ?? "", /127\.0\.0\.2, a loopback address/);
    assert.ok(
      !main.received.some((x) => bodyOf(x).request.id === r.id),
      "nothing went to the refused address",
    );
    const view = (await h.call(await h.tokenFor("olga"), "GET", `/api/requests/${r.id}`)).body as RequestView;
    assert.equal(view.status, "dispatched", "the request moved on regardless");
  });

  test("sends executed and failed for requests the agent ran", async () => {
    const ok = await create("alice", {
      database: "demo",
      environment: "local",
      sql: "SELECT name FROM items WHERE id = 1",
    });
    await waitForStatus(h, ok.id, "succeeded");
    await hookFor(main, ok.id, "request.executed");
    const bad = await create("alice", {
      database: "demo",
      environment: "local",
      sql: "SELECT nope FROM missing_table",
    });
    await waitForStatus(h, bad.id, "failed");
    await hookFor(main, bad.id, "request.failed");
  });

  test("sends expired when the sweeper expires a request nobody decided", async () => {
    const r = await create("alice", {
      database: "shop",
      environment: "production",
      sql: "DELETE FROM carts WHERE id = 9",
    });
    await hookFor(main, r.id, "request.created");
    // Make the request old, as time would; the sweeper does the rest.
    await h.bot.store
      .updateTable("requests")
      .set({ expires_at: "2000-01-01T00:00:00.000Z" })
      .where("id", "=", r.id)
      .execute();
    await waitForStatus(h, r.id, "expired");
    await hookFor(main, r.id, "request.expired");
  });
});
