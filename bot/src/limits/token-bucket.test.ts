import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TokenBuckets } from "./token-bucket.ts";

function clock(start = 0): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe("token buckets", () => {
  const rule = { burst: 3, per_minute: 6 };

  test("allows a burst, then refuses with the seconds until a token is back", () => {
    const c = clock();
    const b = new TokenBuckets(c.now);
    for (let i = 0; i < 3; i++) assert.deepEqual(b.take("alice", rule), { ok: true });
    assert.deepEqual(b.take("alice", rule), { ok: false, retryAfterSeconds: 10 });
  });

  test("refills at the per-minute rate and never beyond the burst", () => {
    const c = clock();
    const b = new TokenBuckets(c.now);
    for (let i = 0; i < 3; i++) b.take("alice", rule);
    c.advance(10_000);
    assert.deepEqual(b.take("alice", rule), { ok: true });
    assert.equal(b.take("alice", rule).ok, false);
    c.advance(3_600_000);
    for (let i = 0; i < 3; i++) assert.deepEqual(b.take("alice", rule), { ok: true });
    assert.equal(b.take("alice", rule).ok, false);
  });

  test("keys are independent", () => {
    const b = new TokenBuckets(clock().now);
    for (let i = 0; i < 3; i++) b.take("alice", rule);
    assert.equal(b.take("alice", rule).ok, false);
    assert.deepEqual(b.take("bob", rule), { ok: true });
  });

  test("check looks without taking a token", () => {
    const b = new TokenBuckets(clock().now);
    for (let i = 0; i < 5; i++) assert.deepEqual(b.check("10.0.0.1", rule), { ok: true });
    for (let i = 0; i < 3; i++) b.take("10.0.0.1", rule);
    assert.equal(b.check("10.0.0.1", rule).ok, false);
  });

  test("holds at most maxKeys keys, dropping full buckets first", () => {
    const c = clock();
    const b = new TokenBuckets(c.now, 2);
    b.take("a", { burst: 1, per_minute: 60 });
    c.advance(1000);
    b.take("b", { burst: 1, per_minute: 1 });
    b.take("c", { burst: 1, per_minute: 1 });
    assert.equal(b.size, 2);
    assert.equal(b.take("b", { burst: 1, per_minute: 1 }).ok, false, "b was kept: it is still limited");
  });

  test("when every bucket is in use, the least recently touched goes", () => {
    const b = new TokenBuckets(clock().now, 2);
    const slow = { burst: 1, per_minute: 1 };
    b.take("a", slow);
    b.take("b", slow);
    b.take("c", slow);
    assert.equal(b.size, 2);
    assert.equal(b.take("a", slow).ok, true, "a was forgotten");
  });
});
