import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startWebhookReceiver, type WebhookReceiver } from "../../../test/support/webhook-receiver.ts";
import { sendWebhook, type SendInput } from "./send-webhook.ts";
import type { Lookup } from "./ssrf-guard.ts";

const noDns: Lookup = () => Promise.reject(new Error("no DNS expected"));

function input(url: string, extra: Partial<SendInput> = {}): SendInput {
  return {
    url,
    body: '{"type":"request.created"}',
    headers: { "content-type": "application/json", "x-test": "1" },
    timeoutMs: 5000,
    lookup: noDns,
    allowPrivate: ["127.0.0.1/32"],
    ...extra,
  };
}

describe("sending one webhook", () => {
  let receiver: WebhookReceiver;
  let statuses: (number | "hang")[];
  before(async () => {
    statuses = [];
    receiver = await startWebhookReceiver(() => {
      const next = statuses.shift() ?? 204;
      return next === "hang"
        ? "hang"
        : { status: next, headers: next === 302 ? { location: "http://127.0.0.1:1/x" } : {} };
    });
  });
  after(() => receiver.close());

  test("delivers the exact body and headers to a receiver on 127.0.0.1 when it is allow-listed", async () => {
    const before = receiver.received.length;
    const outcome = await sendWebhook(input(receiver.url));
    assert.deepEqual(outcome, { status: "succeeded", httpStatus: 204 });
    const got = receiver.received[before];
    assert.equal(got?.body, '{"type":"request.created"}');
    assert.equal(got?.headers["x-test"], "1");
    assert.equal(got?.path, "/hook");
  });

  test("refuses the same receiver when 127.0.0.1 is not allow-listed, before connecting", async () => {
    const before = receiver.received.length;
    const outcome = await sendWebhook(input(receiver.url, { allowPrivate: [] }));
    assert.equal(outcome.status, "refused");
    assert.match(outcome.status === "refused" ? outcome.error : "", /127\.0\.0\.1, a loopback address/);
    assert.equal(receiver.received.length, before, "nothing reached the receiver");
  });

  test("refuses a non-HTTP scheme", async () => {
    const outcome = await sendWebhook(input(`ftp://127.0.0.1:${receiver.port}/hook`));
    assert.equal(outcome.status, "refused");
  });

  test("connects to the address it checked, resolving the name once, so a rebinding answer is never used", async () => {
    let calls = 0;
    // First answer: the allow-listed receiver; every later answer: the metadata endpoint.
    const rebinding: Lookup = () => {
      calls += 1;
      return Promise.resolve([{ address: calls === 1 ? "127.0.0.1" : "169.254.169.254", family: 4 }]);
    };
    const before = receiver.received.length;
    const outcome = await sendWebhook(
      input(`http://hooks.rebind.test:${receiver.port}/hook`, {
        lookup: rebinding,
        allowPrivate: ["hooks.rebind.test"],
      }),
    );
    assert.deepEqual(outcome, { status: "succeeded", httpStatus: 204 });
    assert.equal(calls, 1, "the name was resolved exactly once");
    assert.equal(
      receiver.received[before]?.headers.host,
      `hooks.rebind.test:${receiver.port}`,
      "the Host header keeps the name",
    );
  });

  test("does not follow a redirect: a 3xx is a failure that is not retried", async () => {
    statuses.push(302);
    const outcome = await sendWebhook(input(receiver.url));
    assert.equal(outcome.status, "failed");
    if (outcome.status === "failed") {
      assert.equal(outcome.httpStatus, 302);
      assert.equal(outcome.retryable, false);
      assert.equal(outcome.reason, "redirect");
    }
  });

  test("retries after 5xx, 429 and 408, but not after other 4xx answers", async () => {
    for (const [status, retryable] of [
      [500, true],
      [503, true],
      [429, true],
      [408, true],
      [400, false],
      [404, false],
    ] as const) {
      statuses.push(status);
      const outcome = await sendWebhook(input(receiver.url));
      assert.equal(outcome.status, "failed", String(status));
      assert.equal(outcome.status === "failed" && outcome.retryable, retryable, String(status));
      assert.equal(outcome.status === "failed" && outcome.reason, `http_${status}`);
    }
  });

  test("gives up on a receiver that never answers, as a retryable timeout", async () => {
    statuses.push("hang");
    const outcome = await sendWebhook(input(receiver.url, { timeoutMs: 200 }));
    assert.equal(outcome.status, "failed");
    assert.equal(outcome.status === "failed" && outcome.reason, "timeout");
    assert.equal(outcome.status === "failed" && outcome.retryable, true);
  });

  test("reports a closed port as a retryable connection failure", async () => {
    const closed = await startWebhookReceiver();
    const url = closed.url;
    await closed.close();
    const outcome = await sendWebhook(input(url));
    assert.equal(outcome.status, "failed");
    assert.equal(outcome.status === "failed" && outcome.reason, "connection");
  });

  test("stops at once, without retry, when the bot is stopping", async () => {
    statuses.push("hang");
    const stopping = new AbortController();
    const before = receiver.received.length;
    const pending = sendWebhook(input(receiver.url, { signal: stopping.signal }));
    await receiver.waitFor(before + 1);
    stopping.abort();
    const outcome = await pending;
    assert.equal(outcome.status, "failed");
    assert.equal(outcome.status === "failed" && outcome.retryable, false);
  });
});
