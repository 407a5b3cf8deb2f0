import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { pino } from "pino";
import { CallRetry, backoffMs } from "./call-retry.ts";
import { SlackCallError } from "./slack-api.ts";

const quiet = pino({ level: "silent" });
const fast = { attempts: 4, baseDelayMs: 1, maxDelayMs: 5 };

describe("retries of Slack calls that answer at once", () => {
  test("retries a rate-limited call until it goes through", async () => {
    const q = new CallRetry(quiet, fast);
    let calls = 0;
    const result = await q.attempt("chat.postMessage", () => {
      calls += 1;
      if (calls < 3) return Promise.reject(new SlackCallError("chat.postMessage", "ratelimited", true));
      return Promise.resolve("sent");
    });
    assert.equal(result, "sent");
    assert.equal(calls, 3);
  });

  test("gives up after the last attempt and answers undefined instead of throwing", async () => {
    const q = new CallRetry(quiet, fast);
    let calls = 0;
    const result = await q.attempt("chat.update", () => {
      calls += 1;
      return Promise.reject(new SlackCallError("chat.update", "not_in_channel", true));
    });
    assert.equal(result, undefined);
    assert.equal(calls, 4);
  });

  test("does not retry an error that cannot clear", async () => {
    const q = new CallRetry(quiet, fast);
    let calls = 0;
    await q.attempt("chat.postMessage", () => {
      calls += 1;
      return Promise.reject(new SlackCallError("chat.postMessage", "invalid_blocks", false));
    });
    assert.equal(calls, 1);
  });

  test("waits at least as long as Slack's Retry-After, within the cap", async () => {
    const q = new CallRetry(quiet, { attempts: 2, baseDelayMs: 1, maxDelayMs: 40 }, () => 0);
    const started = Date.now();
    let calls = 0;
    await q.attempt("x", () => {
      calls += 1;
      return calls === 1
        ? Promise.reject(new SlackCallError("x", "ratelimited", true, 30))
        : Promise.resolve(1);
    });
    assert.ok(Date.now() - started >= 25);
  });

  test("close ends retry sleeps at once", async () => {
    const q = new CallRetry(quiet, { attempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 });
    const started = Date.now();
    const call = q.attempt("x", () => Promise.reject(new SlackCallError("x", "ratelimited", true)));
    await new Promise((r) => setTimeout(r, 10));
    q.close();
    assert.equal(await call, undefined);
    assert.ok(Date.now() - started < 5000);
  });

  test("the backoff doubles, honours Retry-After and stays under the cap", () => {
    const policy = { attempts: 10, baseDelayMs: 1000, maxDelayMs: 60_000 };
    assert.equal(
      backoffMs(policy, 1, undefined, () => 1),
      1000,
    );
    assert.equal(
      backoffMs(policy, 3, undefined, () => 1),
      4000,
    );
    assert.equal(
      backoffMs(policy, 3, undefined, () => 0),
      2000,
    );
    assert.equal(
      backoffMs(policy, 1, 30_000, () => 0),
      30_000,
    );
    assert.equal(
      backoffMs(policy, 40, undefined, () => 1),
      60_000,
    );
  });
});
