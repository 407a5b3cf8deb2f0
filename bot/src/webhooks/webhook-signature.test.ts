import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, test } from "node:test";
import { signWebhook, verifyWebhookSignature } from "./webhook-signature.ts";

const SECRET = "s".repeat(40);
const BODY = '{"type":"request.approved","request":{"id":7}}';
const T = 1_714_560_000;

describe("webhook signatures", () => {
  test("are HMAC-SHA256 over timestamp, a dot and the body, as a receiver recomputes them", () => {
    const header = signWebhook(SECRET, T, BODY);
    const expected = createHmac("sha256", SECRET).update(`${T}.${BODY}`).digest("hex");
    assert.equal(header, `t=${T},v1=${expected}`);
    assert.deepEqual(verifyWebhookSignature(header, BODY, SECRET, T + 10), { ok: true });
  });

  test("refuse a changed body, another secret, a missing or malformed header", () => {
    const header = signWebhook(SECRET, T, BODY);
    assert.equal(verifyWebhookSignature(header, BODY.replace("7", "8"), SECRET, T).ok, false);
    assert.equal(verifyWebhookSignature(header, BODY, "x".repeat(40), T).ok, false);
    assert.equal(verifyWebhookSignature(undefined, BODY, SECRET, T).ok, false);
    for (const bad of [
      "",
      "v1=abc",
      `t=${T}`,
      `t=${T},v1=${"0".repeat(63)}`,
      `t=x,v1=${"0".repeat(64)}`,
      `${header},v0=1`,
    ]) {
      assert.equal(verifyWebhookSignature(bad, BODY, SECRET, T).ok, false, bad);
    }
  });

  test("refuse a replay older than the tolerance, and one from the future", () => {
    const header = signWebhook(SECRET, T, BODY);
    assert.equal(verifyWebhookSignature(header, BODY, SECRET, T + 301).ok, false);
    assert.equal(verifyWebhookSignature(header, BODY, SECRET, T - 301).ok, false);
    assert.equal(verifyWebhookSignature(header, BODY, SECRET, T + 300).ok, true);
  });

  test("refuse a signature moved to another timestamp", () => {
    const sig = signWebhook(SECRET, T, BODY).split(",v1=")[1] ?? "";
    assert.equal(verifyWebhookSignature(`t=${T + 1},v1=${sig}`, BODY, SECRET, T).ok, false);
  });
});
