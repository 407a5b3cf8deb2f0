/**
 * The HTTP API's guards (SECURITY.md: flooding, operational hardening): request ids, security
 * headers and HSTS, rate limits on request creation per user and on failed authentication per
 * client IP, and `http.trusted_proxies` deciding when X-Forwarded-For names the client.
 * Real bots on loopback; "proxies" are this test adding the headers a proxy would add.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { AuditListView, ErrorBody } from "@dbward/shared";
import { TEST_CONFIG, startBotHarness, type BotHarness } from "./support/bot-harness.ts";

const LIMITS = `
  rate_limits:
    request_create: { burst: 2, per_minute: 1 }
    auth_failures: { burst: 3, per_minute: 1 }
`;
const BEHIND_PROXY = `${TEST_CONFIG}\nhttp:\n  trusted_proxies: ["127.0.0.1/32", "::1/128"]${LIMITS}`;
const DIRECT = `${TEST_CONFIG}\nhttp:${LIMITS}`;

async function call(
  h: BotHarness,
  path: string,
  opts: { token?: string; headers?: Record<string, string>; method?: string; body?: unknown } = {},
): Promise<Response> {
  return fetch(`${h.url}${path}`, {
    method: opts.method ?? "GET",
    headers: {
      ...(opts.token === undefined ? {} : { authorization: `Bearer ${opts.token}` }),
      ...(opts.body === undefined ? {} : { "content-type": "application/json" }),
      ...opts.headers,
    },
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
  });
}

const BAD_TOKEN = `dbw_${"A".repeat(43)}`;
const create = (sql: string) => ({ database: "shop", environment: "staging", sql, reason: "limits" });

describe("behind a trusted proxy", () => {
  let h: BotHarness;
  before(async () => {
    h = await startBotHarness(BEHIND_PROXY);
  });
  after(async () => h.stop());

  test("every answer carries a request id, and a well-formed incoming one is kept", async () => {
    const fresh = await call(h, "/health");
    assert.match(fresh.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
    const kept = await call(h, "/health", { headers: { "x-request-id": "edge-4f1c.77" } });
    assert.equal(kept.headers.get("x-request-id"), "edge-4f1c.77");
    const replaced = await call(h, "/health", { headers: { "x-request-id": "a b\tc" } });
    assert.match(replaced.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
  });

  test("security headers are on every answer, and HSTS only when the proxy says the client used TLS", async () => {
    const plain = await call(h, "/api/requests");
    assert.equal(plain.headers.get("content-security-policy")?.startsWith("default-src 'none'"), true);
    assert.equal(plain.headers.get("x-frame-options"), "DENY");
    assert.equal(plain.headers.get("x-content-type-options"), "nosniff");
    assert.equal(plain.headers.get("cache-control"), "no-store");
    assert.equal(plain.headers.get("strict-transport-security"), null);
    const tls = await call(h, "/health", { headers: { "x-forwarded-proto": "https" } });
    assert.equal(tls.headers.get("strict-transport-security"), "max-age=31536000; includeSubDomains");
  });

  test("request creation is limited per user: 429, Retry-After and rate.limited, other users unaffected", async () => {
    const alice = await h.tokenFor("alice");
    for (let i = 0; i < 2; i++) {
      const ok = await call(h, "/api/requests", {
        token: alice,
        method: "POST",
        body: create(`SELECT ${i}`),
      });
      assert.equal(ok.status, 201);
    }
    const limited = await call(h, "/api/requests", {
      token: alice,
      method: "POST",
      body: create("SELECT 9"),
    });
    assert.equal(limited.status, 429);
    const wait = Number(limited.headers.get("retry-after"));
    assert.ok(wait >= 1 && wait <= 60, `Retry-After ${wait}`);
    const body = (await limited.json()) as ErrorBody;
    assert.equal(body.error.code, "rate.limited");
    assert.match(body.error.message, /too many new requests; try again in \d+ s/);
    const dave = await h.tokenFor("dave");
    const other = await call(h, "/api/requests", { token: dave, method: "POST", body: create("SELECT 1") });
    assert.equal(other.status, 201);
  });

  test("failed authentications are limited per client IP, even for a later valid token; probes stay open", async () => {
    const from = (ip: string) => ({ "x-forwarded-for": `10.9.9.9, ${ip}` });
    for (let i = 0; i < 3; i++) {
      const res = await call(h, "/api/requests", { token: BAD_TOKEN, headers: from("203.0.113.7") });
      assert.equal(res.status, 401);
    }
    const blocked = await call(h, "/api/requests", { token: h.adminToken, headers: from("203.0.113.7") });
    assert.equal(blocked.status, 429);
    assert.equal(((await blocked.json()) as ErrorBody).error.code, "rate.limited");
    assert.ok(Number(blocked.headers.get("retry-after")) >= 1);
    assert.equal((await call(h, "/health", { headers: from("203.0.113.7") })).status, 200);
    assert.equal((await call(h, "/ready", { headers: from("203.0.113.7") })).status, 200);
    const neighbour = await call(h, "/api/requests", { token: h.adminToken, headers: from("203.0.113.8") });
    assert.equal(neighbour.status, 200, "another client behind the same proxy is not blocked");
  });

  test("the audit trail records the client address the trusted proxy forwarded", async () => {
    await call(h, "/api/requests", { token: BAD_TOKEN, headers: { "x-forwarded-for": "198.51.100.23" } });
    const audit = await h.call(h.adminToken, "GET", "/api/audit?limit=1000");
    const ips = (audit.body as AuditListView).events
      .filter((e) => e.action === "auth.failed")
      .map((e) => e.details.ip);
    assert.ok(ips.includes("198.51.100.23"), JSON.stringify(ips));
    assert.ok(!ips.includes("10.9.9.9"), "an address the client wrote itself is never taken");
  });
});

describe("without trusted proxies", () => {
  let h: BotHarness;
  before(async () => {
    h = await startBotHarness(DIRECT);
  });
  after(async () => h.stop());

  test("HSTS is not sent on the say-so of X-Forwarded-Proto from an untrusted peer", async () => {
    const res = await call(h, "/health", { headers: { "x-forwarded-proto": "https" } });
    assert.equal(res.headers.get("strict-transport-security"), null);
  });

  test("X-Forwarded-For is ignored: the audit records the peer address", async () => {
    await call(h, "/api/requests", { token: BAD_TOKEN, headers: { "x-forwarded-for": "198.51.100.99" } });
    const audit = await h.call(h.adminToken, "GET", "/api/audit?limit=1000");
    const ips = (audit.body as AuditListView).events
      .filter((e) => e.action === "auth.failed")
      .map((e) => String(e.details.ip));
    assert.ok(ips.length > 0 && ips.every((ip) => ip.endsWith("127.0.0.1")), JSON.stringify(ips));
  });

  test("a client cannot escape its per-IP limit by writing X-Forwarded-For itself", async () => {
    for (let i = 0; i < 2; i++) await call(h, "/api/requests", { token: BAD_TOKEN });
    const spoofed = await call(h, "/api/requests", {
      token: h.adminToken,
      headers: { "x-forwarded-for": "198.51.100.1" },
    });
    assert.equal(spoofed.status, 429);
  });
});
