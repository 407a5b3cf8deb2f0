/**
 * SECURITY.md "flooding" with several bot instances (issue 14: nothing only in memory): the
 * rate-limit buckets are in the state store, so two instances on one PostgreSQL state count
 * into one bucket — a user cannot get twice the burst by alternating instances behind the load
 * balancer, nor an address twice the failed logins — and an instance started again refuses at
 * once what was refused before.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { ErrorBody } from "@dbward/shared";
import { TEST_CONFIG, type BotHarness } from "./support/bot-harness.ts";
import { sharedPostgresState, type SharedState } from "./support/shared-state-bots.ts";

const CONFIG = `${TEST_CONFIG}
http:
  trusted_proxies: ["127.0.0.1/32", "::1/128"]
  rate_limits:
    request_create: { burst: 2, per_minute: 1 }
    auth_failures: { burst: 3, per_minute: 1 }
`;
const BAD_TOKEN = `dbw_${"A".repeat(43)}`;
const create = (sql: string) => ({ database: "shop", environment: "staging", sql, reason: "shared limits" });

async function post(h: BotHarness, token: string, ip: string, body: unknown): Promise<Response> {
  return fetch(`${h.url}/api/requests`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "x-forwarded-for": ip },
    body: JSON.stringify(body),
  });
}

describe("rate limits shared by two bot instances on one PostgreSQL state", () => {
  let shared: SharedState;
  let a: BotHarness;
  let b: BotHarness;
  before(async () => {
    shared = await sharedPostgresState(CONFIG);
    a = await shared.start();
    b = await shared.start();
  });
  after(async () => shared.stop());

  test("request creation: the burst is one bucket across instances, and a restart keeps it", async () => {
    const alice = await a.tokenFor("alice");
    assert.equal((await post(a, alice, "198.51.100.1", create("SELECT 1"))).status, 201);
    assert.equal((await post(b, alice, "198.51.100.1", create("SELECT 2"))).status, 201);
    const onA = await post(a, alice, "198.51.100.1", create("SELECT 3"));
    const onB = await post(b, alice, "198.51.100.1", create("SELECT 4"));
    assert.deepEqual([onA.status, onB.status], [429, 429]);
    assert.equal(((await onB.json()) as ErrorBody).error.code, "rate.limited");
    assert.ok(Number(onB.headers.get("retry-after")) >= 1);
    const listed = (await a.call(a.adminToken, "GET", "/api/requests")).body as { requests: unknown[] };
    assert.equal(listed.requests.length, 2, "a refused creation creates nothing");

    await b.stop();
    b = await shared.start();
    const again = await post(b, alice, "198.51.100.1", create("SELECT 5"));
    assert.equal(again.status, 429, "the instance started again still refuses");
    const dave = await b.tokenFor("dave");
    assert.equal(
      (await post(b, dave, "198.51.100.1", create("SELECT 6"))).status,
      201,
      "others are unaffected",
    );
  });

  test("failed authentications: an address refused on one instance is refused on the other", async () => {
    const ip = "203.0.113.50";
    const statuses: number[] = [];
    for (const h of [a, b, a]) statuses.push((await post(h, BAD_TOKEN, ip, create("SELECT 1"))).status);
    assert.deepEqual(statuses, [401, 401, 401]);
    const valid = await b.tokenFor("dave");
    for (const h of [a, b]) {
      const res = await post(h, valid, ip, create("SELECT 1"));
      assert.equal(res.status, 429, "even a valid token waits, on either instance");
    }
    assert.equal((await post(b, valid, "203.0.113.51", create("SELECT 7"))).status, 201);
  });
});
