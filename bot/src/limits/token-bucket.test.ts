import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { msToFill, refilledMilliTokens, takeResultOf } from "./token-bucket.ts";

describe("token-bucket arithmetic", () => {
  const rule = { burst: 3, per_minute: 6 };

  test("a key never seen holds the whole burst", () => {
    assert.equal(refilledMilliTokens(undefined, rule, 0), 3000);
  });

  test("refills per_minute / 60 milli-tokens per millisecond, rounded down, never beyond the burst", () => {
    assert.equal(refilledMilliTokens({ milliTokens: 0, atMs: 0 }, rule, 10_000), 1000);
    assert.equal(refilledMilliTokens({ milliTokens: 0, atMs: 0 }, rule, 9_999), 999);
    assert.equal(refilledMilliTokens({ milliTokens: 2500, atMs: 0 }, rule, 60_000), 3000);
    assert.equal(refilledMilliTokens({ milliTokens: 0, atMs: 0 }, rule, 10 ** 13), 3000);
  });

  test("a clock behind the bucket's adds nothing; a lowered burst caps what is held", () => {
    assert.equal(refilledMilliTokens({ milliTokens: 500, atMs: 5_000 }, rule, 1_000), 500);
    assert.equal(refilledMilliTokens({ milliTokens: 9000, atMs: 0 }, rule, 0), 3000);
  });

  test("refuses with the whole seconds until a token is back, at least one", () => {
    assert.deepEqual(takeResultOf(1000, rule), { ok: true });
    assert.deepEqual(takeResultOf(0, rule), { ok: false, retryAfterSeconds: 10 });
    assert.deepEqual(takeResultOf(999, { burst: 1, per_minute: 1_000_000 }), {
      ok: false,
      retryAfterSeconds: 1,
    });
  });

  test("an empty bucket is full again after burst / per_minute minutes", () => {
    assert.equal(msToFill(rule), 30_000);
    assert.equal(msToFill({ burst: 1, per_minute: 7 }), 8572);
  });
});
