/**
 * Webhook retries across bot restarts, on a real state file through real bots and a real local
 * receiver: a retry scheduled before a clean stop is made by the next bot on the same data
 * directory (same delivery id, same body bytes); an attempt a crash left `sending` is sent again
 * once; a retry whose webhook left the config, or no longer subscribes, is not sent and its row
 * says why; and max_attempts holds across restarts. "Time passes" by moving `next_attempt_at`
 * into the past in the file, as an operator's clock would.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { afterEach, beforeEach, describe, test } from "node:test";
import { INTERRUPTED } from "../bot/src/webhooks/webhook-deliveries.ts";
import { LONG_AGO, SECRET, configWith, postRequest, rowsUntil, webhookBots } from "./support/webhook-bots.ts";
import type { ReceivedHook } from "./support/webhook-receiver.ts";

interface Row {
  id: number;
  delivery_id: string;
  webhook: string;
  attempt: number;
  status: string;
  http_status: number | null;
  error: string | null;
  next_attempt_at: string | null;
}

describe("webhook retries across restarts", () => {
  const bots = webhookBots("dbward-webhooks-restart-");
  const { receiver, firstBot, nextBot, read, write } = bots;
  beforeEach(bots.setUp);
  afterEach(bots.tearDown);

  const createRequest = (url: string, token: string, sql: string): Promise<number> =>
    postRequest(url, token, sql, "restart test");

  const rows = (): Row[] =>
    read<Row>(
      "SELECT id, delivery_id, webhook, attempt, status, http_status, error, next_attempt_at FROM webhook_deliveries ORDER BY id",
    );

  function assertSigned(hook: ReceivedHook): void {
    const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(hook.headers["x-dbward-signature"]));
    assert.ok(m !== null, "the signature header has t= and v1=");
    assert.equal(m[2], createHmac("sha256", SECRET).update(`${m[1]}.${hook.body}`).digest("hex"));
  }

  test("a retry scheduled before a clean stop is made by the next bot: same delivery, same bytes", async () => {
    const hooks = await receiver((i) => ({ status: i === 0 ? 503 : 200 }));
    const config = configWith(hooks.url, { ops: "events: [request.created]" });
    const first = await firstBot(config);
    const id = await createRequest(
      first.url,
      first.token,
      "UPDATE customers SET email = 'ada@example.com' WHERE id = 31337",
    );
    await rowsUntil(rows, (all) => all[0]?.next_attempt_at != null);
    await first.stop();

    const stopped = rows();
    assert.equal(stopped.length, 1);
    assert.deepEqual(
      [stopped[0]?.attempt, stopped[0]?.status, stopped[0]?.http_status, stopped[0]?.error],
      [1, "failed", 503, "the receiver answered HTTP 503"],
      "a clean stop leaves the retry scheduled and does not call it abandoned",
    );
    assert.notEqual(stopped[0]?.next_attempt_at, null);

    write(`UPDATE webhook_deliveries SET next_attempt_at = '${LONG_AGO}'`);
    const second = await nextBot(config);
    const [before, after] = await hooks.waitFor(2);
    const settled = await rowsUntil(rows, (all) => all.some((r) => r.status === "succeeded"));
    assert.deepEqual(
      settled.map((r) => [r.attempt, r.status, r.http_status, r.next_attempt_at]),
      [
        [1, "failed", 503, LONG_AGO],
        [2, "succeeded", 200, null],
      ],
    );
    const deliveryId = settled[0]?.delivery_id;
    assert.equal(settled[1]?.delivery_id, deliveryId);
    assert.equal(before?.headers["x-dbward-delivery"], deliveryId);
    assert.equal(after?.headers["x-dbward-delivery"], deliveryId);
    assert.equal(after?.body, before?.body, "the resumed attempt sends the first attempt's bytes");
    assert.equal((JSON.parse(after?.body ?? "{}") as { request: { id: number } }).request.id, id);
    assertSigned(before as ReceivedHook);
    assertSigned(after as ReceivedHook);

    // A third bot sends nothing again: the next request's delivery is the only new one.
    await second.stop();
    const third = await nextBot(config);
    const next = await createRequest(third.url, first.token, "DELETE FROM carts WHERE id = 1");
    const all = await hooks.waitFor(3);
    assert.equal(all.length, 3);
    assert.equal((JSON.parse(all[2]?.body ?? "{}") as { request: { id: number } }).request.id, next);
    assert.notEqual(all[2]?.headers["x-dbward-delivery"], deliveryId);
    await third.stop();
    assert.equal(hooks.received.length, 3);
  });

  test("an attempt a crash left 'sending' is marked failed and sent again once, as the next attempt", async () => {
    const hooks = await receiver((i) => (i === 0 ? "hang" : { status: 204 }));
    const config = configWith(hooks.url, { ops: "events: [request.created], timeout_ms: 60000" });
    const first = await firstBot(config);
    await createRequest(first.url, first.token, "UPDATE t SET a = 1 WHERE id = 2");
    await hooks.waitFor(1);
    await first.stop();

    // A clean stop cut the attempt short: recorded, with its retry kept for the next start.
    const stopped = rows();
    assert.deepEqual(
      stopped.map((r) => [r.attempt, r.status, r.error]),
      [[1, "failed", "the bot is stopping"]],
    );
    assert.notEqual(stopped[0]?.next_attempt_at, null);

    // What a crash mid-attempt leaves instead: the row still `sending`, long enough ago.
    write(
      `UPDATE webhook_deliveries SET status = 'sending', http_status = NULL, error = NULL, finished_at = NULL, next_attempt_at = NULL, started_at = '${LONG_AGO}'`,
    );
    const second = await nextBot(config);
    const [lost, resent] = await hooks.waitFor(2);
    const settled = await rowsUntil(rows, (all) => all.some((r) => r.status === "succeeded"));
    assert.deepEqual(
      settled.map((r) => [r.attempt, r.status, r.http_status, r.error]),
      [
        [1, "failed", null, INTERRUPTED],
        [2, "succeeded", 204, null],
      ],
    );
    assert.equal(resent?.headers["x-dbward-delivery"], lost?.headers["x-dbward-delivery"]);
    assert.equal(resent?.body, lost?.body);
    assertSigned(resent as ReceivedHook);

    await second.stop();
    const third = await nextBot(config);
    await createRequest(third.url, first.token, "UPDATE t SET a = 2 WHERE id = 3");
    await hooks.waitFor(3);
    await third.stop();
    assert.equal(hooks.received.length, 3, "the interrupted delivery was sent again exactly once");
    assert.equal(rows().filter((r) => r.delivery_id === settled[0]?.delivery_id).length, 2);
  });

  test("a retry whose webhook left the config, or no longer subscribes, is not sent and says why", async () => {
    const hooks = await receiver(() => ({ status: 503 }));
    const first = await firstBot(
      configWith(hooks.url, { gone: "events: [request.created]", narrowed: "events: [request.created]" }),
    );
    await createRequest(first.url, first.token, "UPDATE t SET a = 1 WHERE id = 2");
    await rowsUntil(rows, (all) => all.length === 2 && all.every((r) => r.next_attempt_at !== null));
    await first.stop();
    assert.equal(hooks.received.length, 2);

    write(`UPDATE webhook_deliveries SET next_attempt_at = '${LONG_AGO}'`);
    const second = await nextBot(configWith(hooks.url, { narrowed: "events: [request.approved]" }));
    const settled = await rowsUntil(rows, (all) => all.every((r) => r.next_attempt_at === null));
    await second.stop();
    assert.deepEqual(settled.map((r) => [r.webhook, r.attempt, r.status, r.error]).sort(), [
      [
        "gone",
        1,
        "failed",
        "the receiver answered HTTP 503; retry not made: webhook gone is no longer in the config",
      ],
      [
        "narrowed",
        1,
        "failed",
        "the receiver answered HTTP 503; retry not made: webhook narrowed no longer subscribes to request.created on shop/staging",
      ],
    ]);
    assert.equal(hooks.received.length, 2, "nothing was sent after the restart");
  });

  test("max_attempts holds across restarts, by the config in force at each attempt", async () => {
    const hooks = await receiver(() => ({ status: 503 }));
    const first = await firstBot(
      configWith(hooks.url, { ops: "events: [request.created], max_attempts: 3" }),
    );
    await createRequest(first.url, first.token, "UPDATE t SET a = 1 WHERE id = 2");
    await rowsUntil(rows, (all) => all[0]?.next_attempt_at != null);
    await first.stop();

    // The next bot allows two attempts: the second is the last, so it schedules nothing.
    const config = configWith(hooks.url, { ops: "events: [request.created], max_attempts: 2" });
    write(`UPDATE webhook_deliveries SET next_attempt_at = '${LONG_AGO}'`);
    const second = await nextBot(config);
    const settled = await rowsUntil(rows, (all) => all.some((r) => r.attempt === 2 && r.status === "failed"));
    await second.stop();
    assert.deepEqual(
      settled.map((r) => [r.attempt, r.status, r.http_status, r.next_attempt_at]),
      [
        [1, "failed", 503, LONG_AGO],
        [2, "failed", 503, null],
      ],
    );
    assert.equal(hooks.received.length, 2);

    // A crash during that last attempt: it is settled as interrupted, and not sent a third time.
    write(
      `UPDATE webhook_deliveries SET status = 'sending', http_status = NULL, error = NULL, finished_at = NULL, started_at = '${LONG_AGO}' WHERE attempt = 2`,
    );
    const third = await nextBot(config);
    const last = await rowsUntil(
      rows,
      (all) => all[1]?.status === "failed" && all[1].next_attempt_at === null,
    );
    await third.stop();
    assert.deepEqual(
      last.map((r) => [r.attempt, r.error, r.next_attempt_at]),
      [
        [1, "the receiver answered HTTP 503", LONG_AGO],
        [2, `${INTERRUPTED}; retry not made: webhook ops allows 2 attempts`, null],
      ],
    );
    assert.equal(hooks.received.length, 2, "no attempt beyond max_attempts");
  });
});
