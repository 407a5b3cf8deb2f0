import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SeenSignatures } from "./request-guard.ts";

describe("remembering accepted Slack signatures (T-REPLAY)", () => {
  test("refuses a signature seen before while it is inside its window", () => {
    const seen = new SeenSignatures();
    assert.equal(seen.remember("v0=a", 10_000, 0), true);
    assert.equal(seen.remember("v0=a", 10_000, 5_000), false);
    assert.equal(seen.remember("v0=b", 10_000, 5_000), true);
  });

  test("forgets signatures whose window has passed", () => {
    const seen = new SeenSignatures();
    seen.remember("v0=a", 1_000, 0);
    assert.equal(seen.remember("v0=a", 20_000, 2_000), true);
    for (let i = 0; i < 10; i += 1) seen.remember(`v0=${i}`, 3_000, 2_500);
    seen.remember("v0=late", 50_000, 4_000);
    assert.equal(seen.size, 2);
  });

  test("stays within its bound, dropping the oldest", () => {
    const seen = new SeenSignatures(100);
    for (let i = 0; i < 1000; i += 1) seen.remember(`v0=${i}`, 1_000_000, 0);
    assert.ok(seen.size <= 100);
    assert.equal(seen.remember("v0=999", 1_000_000, 0), false);
  });
});
