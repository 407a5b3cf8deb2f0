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
import { afterEach, beforeEach, describe, test } from "node:test";
import { INTERRUPTED } from "../bot/src/webhooks/webhook-deliveries.ts";
import { TEST_CONFIG } from "./support/bot-harness.ts";
import {
  LONG_AGO,
  configWith,
  postRequest,
  rowsUntil,
  webhookBots,
  type StartedBot,
} from "./support/webhook-bots.ts";

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
  const bots = webhookBots("dbward-webhooks-catch-up-");
  const { receiver, nextBot, read, write } = bots;
  beforeEach(bots.setUp);
  afterEach(bots.tearDown);

  const opsConfig = (url: string): string => configWith(url, { ops: "events: [request.created]" });

  /** Every request here is made as `alice`, whose token the first bot hands out. */
  let token = "";
  async function firstBot(config: string): Promise<StartedBot> {
    const first = await bots.firstBot(config);
    token = first.token;
    return first;
  }

  const createRequest = (url: string, n: number): Promise<number> =>
    postRequest(url, token, `UPDATE t SET a = ${n} WHERE id = ${n}`, "catch-up test");

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

  const deliveryOf = (body: string): number => (JSON.parse(body) as { request: { id: number } }).request.id;

  test("a first start with webhooks sends no history: it begins at the head of the chain", async () => {
    const hooks = await receiver();
    const plain = await firstBot(TEST_CONFIG);
    await createRequest(plain.url, 1);
    await createRequest(plain.url, 2);
    await plain.stop();
    assert.equal(position(), undefined, "no position is kept while no webhook is configured");

    const headBefore = head();
    const withHooks = await nextBot(opsConfig(hooks.url));
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
    const config = opsConfig(hooks.url);
    const first = await firstBot(config);
    const before = await createRequest(first.url, 1);
    await hooks.waitFor(1);
    await first.stop();
    const stoppedAt = position();
    assert.equal(stoppedAt, head(), "a clean stop stores the position it reached");

    const plain = await nextBot(TEST_CONFIG);
    const missed = [await createRequest(plain.url, 2), await createRequest(plain.url, 3)];
    missed.push(await createRequest(plain.url, 4));
    await plain.stop();
    setPosition(stoppedAt ?? 0);

    const second = await nextBot(config);
    await hooks.waitFor(4);
    await rowsUntil(rows, (all) => all.length === 4 && all.every((r) => r.status === "succeeded"));
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
    const third = await nextBot(config);
    await third.stop();
    assert.equal(hooks.received.length, 4);
    assert.deepEqual(rows(), sent);
  });

  test("a delivery that has a row is not made anew: only the table's own retry goes again", async () => {
    const hooks = await receiver((i) => ({ status: i === 0 ? 503 : 204 }));
    const config = opsConfig(hooks.url);
    const first = await firstBot(config);
    const retried = await createRequest(first.url, 1);
    const interrupted = await createRequest(first.url, 2);
    await hooks.waitFor(2);
    await rowsUntil(rows, (all) => all.length === 2 && all.every((r) => r.status !== "sending"));
    await first.stop();

    const plain = await nextBot(TEST_CONFIG);
    const unrouted = await createRequest(plain.url, 3);
    await plain.stop();

    // The crash: one delivery mid-attempt, and the position before all three events.
    write(
      "UPDATE webhook_deliveries SET status = 'sending', http_status = NULL, finished_at = NULL, started_at = ? WHERE request_id = ?",
      LONG_AGO,
      interrupted,
    );
    setPosition(createdSeq(retried) - 1);

    const second = await nextBot(config);
    await hooks.waitFor(4);
    const settled = await rowsUntil(
      rows,
      (all) => all.length === 4 && all.every((r) => r.status !== "sending"),
    );
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
