/**
 * The audit chain as the webhook outbox across restarts, on a real state file through real bots
 * and a real local receiver: a first start with webhooks does not send the history; events after
 * the stored position (where a crash leaves it) are sent by the next start, once each and in
 * order, and not again by the one after; and a delivery that already has a row is not made anew.
 *
 * Nothing can commit an event while a bot with webhooks runs without routing it, short of a crash,
 * so the tests make what a crash leaves: the events are committed by a bot without webhooks, and
 * the position is set back in the file to before them.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import Database from "better-sqlite3";
import { parseBotConfig, startBot } from "@dbward/bot";
import { INTERRUPTED } from "@dbward/bot/webhooks/webhook-deliveries";
import type { RequestView } from "@dbward/shared";
import { pino } from "pino";
import { TEST_CONFIG, startBotHarness } from "./support/bot-harness.ts";
import { startWebhookReceiver, type Reply } from "./support/webhook-receiver.ts";

const ENV = { HOOK_SECRET: "whsec-test-0123456789abcdefghijklmnopqrstuvwxyz" };
const LONG_AGO = "2000-01-01T00:00:00.000Z";

interface Row {
  delivery_id: string;
  audit_seq: number;
  request_id: number;
  attempt: number;
  status: string;
  error: string | null;
  next_attempt_at: string | null;
}

describe("webhook events committed but not routed before a restart", () => {
  let dataDir: string;
  const cleanups: (() => Promise<void>)[] = [];
  const file = (): string => join(dataDir, "bot", "dbward.sqlite");

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), "dbward-webhooks-catch-up-"));
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function receiver(reply: (index: number) => Reply = () => ({ status: 204 })) {
    const r = await startWebhookReceiver((_h, i) => reply(i));
    cleanups.push(() => r.close());
    return r;
  }

  function configWith(url: string): string {
    return `${TEST_CONFIG}\nwebhooks_allow_private: ["127.0.0.1/32"]\nwebhooks:\n  - { name: ops, url: "${url}", secret_env: HOOK_SECRET, events: [request.created], backoff_ms: 600000 }\n`;
  }

  /** A bot on the data directory; the first one also hands out `alice`'s token, which later ones keep. */
  async function bot(config: string): Promise<{ url: string; stop: () => Promise<void> }> {
    const b = await startBot({
      config: parseBotConfig(config),
      dataDir: join(dataDir, "bot"),
      env: ENV,
      logger: pino({ level: "silent" }),
      listen: { host: "127.0.0.1", port: 0 },
    });
    let running = true;
    const stop = async (): Promise<void> => {
      if (!running) return;
      running = false;
      await b.close();
    };
    cleanups.push(stop);
    return { url: b.url, stop };
  }

  let token = "";
  async function firstBot(config: string): Promise<{ url: string; stop: () => Promise<void> }> {
    const h = await startBotHarness(config, { dataDir, env: ENV });
    let running = true;
    const stop = async (): Promise<void> => {
      if (!running) return;
      running = false;
      await h.stop();
    };
    cleanups.push(stop);
    token = await h.tokenFor("alice");
    return { url: h.url, stop };
  }

  async function createRequest(url: string, n: number): Promise<number> {
    const res = await fetch(`${url}/api/requests`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({
        database: "shop",
        environment: "staging",
        sql: `UPDATE t SET a = ${n} WHERE id = ${n}`,
        reason: "catch-up test",
      }),
    });
    assert.equal(res.status, 201);
    return ((await res.json()) as RequestView).id;
  }

  function read<T>(sql: string, ...params: unknown[]): T[] {
    const db = new Database(file(), { readonly: true });
    try {
      return db.prepare(sql).all(...params) as T[];
    } finally {
      db.close();
    }
  }

  function write(sql: string, ...params: unknown[]): void {
    const db = new Database(file());
    try {
      db.prepare(sql).run(...params);
    } finally {
      db.close();
    }
  }

  const rows = (): Row[] =>
    read<Row>(
      "SELECT delivery_id, audit_seq, request_id, attempt, status, error, next_attempt_at FROM webhook_deliveries ORDER BY id",
    );
  const position = (): number | undefined =>
    read<{ audit_seq: number }>("SELECT audit_seq FROM webhook_cursor")[0]?.audit_seq;
  const head = (): number => read<{ seq: number }>("SELECT max(seq) AS seq FROM audit_events")[0]?.seq ?? 0;
  const createdSeq = (request: number): number =>
    read<{ seq: number }>(
      "SELECT seq FROM audit_events WHERE action = 'request.created' AND target = ?",
      `request:${request}`,
    )[0]?.seq ?? 0;
  /** What a crash leaves: the stored position before events that were committed. */
  const setPosition = (seq: number): void =>
    write(
      "INSERT INTO webhook_cursor (id, audit_seq, updated_at) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET audit_seq = excluded.audit_seq",
      seq,
      LONG_AGO,
    );

  async function rowsUntil(done: (all: Row[]) => boolean): Promise<Row[]> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const all = rows();
      if (done(all)) return all;
      assert.ok(Date.now() < deadline, `the deliveries never settled: ${JSON.stringify(all, null, 1)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  const deliveryOf = (body: string): number => (JSON.parse(body) as { request: { id: number } }).request.id;

  test("a first start with webhooks sends no history: it begins at the head of the chain", async () => {
    const hooks = await receiver();
    const plain = await firstBot(TEST_CONFIG);
    await createRequest(plain.url, 1);
    await createRequest(plain.url, 2);
    await plain.stop();
    assert.equal(position(), undefined, "no position is kept while no webhook is configured");

    const headBefore = head();
    const withHooks = await bot(configWith(hooks.url));
    assert.equal(position(), headBefore, "the first start stores the head as its position");
    const id = await createRequest(withHooks.url, 3);
    await hooks.waitFor(1);
    await withHooks.stop();

    assert.deepEqual(
      hooks.received.map((h) => deliveryOf(h.body)),
      [id],
    );
    assert.deepEqual(
      rows().map((r) => [r.request_id, r.attempt, r.status]),
      [[id, 1, "succeeded"]],
      "no delivery, sent or not, for the requests from before the first start",
    );
    assert.equal(position(), head());
  });

  test("events after the stored position are sent by the next start, once each, in order", async () => {
    const hooks = await receiver();
    const config = configWith(hooks.url);
    const first = await firstBot(config);
    const before = await createRequest(first.url, 1);
    await hooks.waitFor(1);
    await first.stop();
    const stoppedAt = position();
    assert.equal(stoppedAt, head(), "a clean stop stores the position it reached");

    const plain = await bot(TEST_CONFIG);
    const missed = [await createRequest(plain.url, 2), await createRequest(plain.url, 3)];
    missed.push(await createRequest(plain.url, 4));
    await plain.stop();
    setPosition(stoppedAt ?? 0);

    const second = await bot(config);
    await hooks.waitFor(4);
    await rowsUntil((all) => all.length === 4 && all.every((r) => r.status === "succeeded"));
    await second.stop();
    const sent = rows();
    assert.deepEqual(
      sent.map((r) => [r.request_id, r.audit_seq, r.attempt]),
      [before, ...missed].map((id) => [id, createdSeq(id), 1]),
      "one attempt per event, made in the order of the chain",
    );
    assert.deepEqual(
      hooks.received
        .slice(1)
        .map((h) => h.headers["x-dbward-delivery"])
        .sort(),
      missed.map((id) => `${createdSeq(id)}.ops`).sort(),
    );
    assert.equal(position(), head());

    // The start after that has nothing left to route.
    const third = await bot(config);
    await third.stop();
    assert.equal(hooks.received.length, 4);
    assert.deepEqual(rows(), sent);
  });

  test("a delivery that has a row is not made anew: only the table's own retry goes again", async () => {
    const hooks = await receiver((i) => ({ status: i === 0 ? 503 : 204 }));
    const config = configWith(hooks.url);
    const first = await firstBot(config);
    const retried = await createRequest(first.url, 1);
    const interrupted = await createRequest(first.url, 2);
    await hooks.waitFor(2);
    await rowsUntil((all) => all.length === 2 && all.every((r) => r.status !== "sending"));
    await first.stop();

    const plain = await bot(TEST_CONFIG);
    const unrouted = await createRequest(plain.url, 3);
    await plain.stop();

    // The crash: one delivery mid-attempt, and the position before all three events.
    write(
      "UPDATE webhook_deliveries SET status = 'sending', http_status = NULL, finished_at = NULL, started_at = ? WHERE request_id = ?",
      LONG_AGO,
      interrupted,
    );
    setPosition(createdSeq(retried) - 1);

    const second = await bot(config);
    await hooks.waitFor(4);
    const settled = await rowsUntil((all) => all.length === 4 && all.every((r) => r.status !== "sending"));
    await second.stop();
    const byRequest = (id: number): unknown[] =>
      settled.filter((r) => r.request_id === id).map((r) => [r.attempt, r.status, r.error]);
    assert.deepEqual(byRequest(retried), [[1, "failed", "the receiver answered HTTP 503"]]);
    assert.notEqual(settled.find((r) => r.request_id === retried)?.next_attempt_at, null);
    assert.deepEqual(byRequest(interrupted), [
      [1, "failed", INTERRUPTED],
      [2, "succeeded", null],
    ]);
    assert.deepEqual(byRequest(unrouted), [[1, "succeeded", null]]);
    assert.deepEqual(
      hooks.received
        .slice(2)
        .map((h) => deliveryOf(h.body))
        .sort(),
      [interrupted, unrouted].sort(),
      "the scheduled retry waits for its time; the attempt left sending goes again (at-least-once)",
    );
    assert.equal(position(), head());
  });
});
