import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseBotConfig } from "./bot-config.ts";
import {
  DEFAULT_RATE_LIMITS,
  DEFAULT_SERVER_LIMITS,
  compileBlockList,
  parseCidr,
} from "./operations-config.ts";

const BASE = `
databases: [{ name: shop, dialect: postgres, environments: [production] }]
workflows: [{ name: reads, operations: [read], auto_approve: always }]
`;

describe("trusted_proxies", () => {
  test("accepts addresses and CIDR blocks in IPv4 and IPv6", () => {
    assert.deepEqual(parseCidr("10.0.0.0/8"), { address: "10.0.0.0", prefix: 8, family: "ipv4" });
    assert.deepEqual(parseCidr("192.168.1.7"), { address: "192.168.1.7", prefix: 32, family: "ipv4" });
    assert.deepEqual(parseCidr("fd00::/8"), { address: "fd00::", prefix: 8, family: "ipv6" });
  });

  test("refuses what is not an address or block", () => {
    for (const bad of ["10.0.0.0/33", "::/129", "proxy.internal", "10.0.0.0/8/1", "10.0.0.0/x", ""]) {
      assert.equal(parseCidr(bad), undefined, bad);
    }
    assert.throws(
      () => parseBotConfig(`${BASE}http: { trusted_proxies: ["10.0.0.0/8", "proxy.internal"] }`),
      /http\.trusted_proxies\.1: must be an IP address or CIDR block/,
    );
  });

  test("matches peers inside the blocks, IPv4-mapped IPv6 peers included, and nothing else", () => {
    const trusted = compileBlockList(["172.28.0.10/32", "fd00::/8"]);
    assert.equal(trusted("172.28.0.10"), true);
    assert.equal(trusted("::ffff:172.28.0.10"), true);
    assert.equal(trusted("fd00::1"), true);
    assert.equal(trusted("172.28.0.11"), false);
    assert.equal(trusted("127.0.0.1"), false);
    assert.equal(trusted("not an address"), false);
    assert.equal(compileBlockList([])("127.0.0.1"), false);
  });
});

describe("http and monitoring defaults", () => {
  test("a config without the sections gets no trusted proxies, the default limits and a 90 s agent staleness", () => {
    const c = parseBotConfig(BASE);
    assert.deepEqual(c.http.trusted_proxies, []);
    assert.deepEqual(c.http.rate_limits, DEFAULT_RATE_LIMITS);
    assert.equal(c.monitoring.agent_stale_after_seconds, 90);
  });

  test("rate limits must be positive whole numbers, and unknown keys are named", () => {
    assert.throws(
      () => parseBotConfig(`${BASE}http: { rate_limits: { request_create: { burst: 0, per_minute: 10 } } }`),
      /http\.rate_limits\.request_create\.burst/,
    );
    assert.throws(() => parseBotConfig(`${BASE}monitoring: { stale: 5 }`), /monitoring/);
  });
});

describe("http server limits", () => {
  test("a config without them gets the defaults", () => {
    const c = parseBotConfig(BASE);
    const {
      headers_timeout_ms,
      request_timeout_ms,
      keep_alive_timeout_ms,
      max_connections,
      max_large_bodies,
    } = c.http;
    assert.deepEqual(
      { headers_timeout_ms, request_timeout_ms, keep_alive_timeout_ms, max_connections, max_large_bodies },
      DEFAULT_SERVER_LIMITS,
    );
  });

  test("every bad value is named at once, and a headers timeout past the request timeout is refused", () => {
    assert.throws(
      () =>
        parseBotConfig(
          `${BASE}http: { headers_timeout_ms: 0, request_timeout_ms: 1.5, max_connections: -1, max_large_bodies: 0 }`,
        ),
      (err: Error) =>
        ["headers_timeout_ms", "request_timeout_ms", "max_connections", "max_large_bodies"].every((k) =>
          err.message.includes(`http.${k}`),
        ),
    );
    assert.throws(
      () => parseBotConfig(`${BASE}http: { headers_timeout_ms: 5000, request_timeout_ms: 1000 }`),
      /http\.headers_timeout_ms: must not be longer than http\.request_timeout_ms/,
    );
  });
});
