import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PUBLIC_ADDRESSES, REFUSED_ADDRESSES } from "../../../test/support/ssrf-table.ts";
import { classifyIp, formatIp, isAllowEntry, isAllowed, parseCidr, parseIp } from "./ip-ranges.ts";

describe("IP ranges webhooks must not reach", () => {
  for (const [address, kind] of REFUSED_ADDRESSES) {
    test(`classifies ${address} as ${kind}`, () => {
      const bytes = parseIp(address);
      assert.ok(bytes !== undefined, `${address} parses`);
      assert.equal(classifyIp(bytes), kind);
    });
  }

  test("leaves ordinary public addresses, including those next to the refused ranges, unclassified", () => {
    for (const address of PUBLIC_ADDRESSES) {
      const bytes = parseIp(address);
      assert.ok(bytes !== undefined, address);
      assert.equal(classifyIp(bytes), undefined, address);
    }
  });

  test("parses only canonical addresses: no octal-looking, short, zoned or out-of-range forms", () => {
    for (const bad of [
      "010.0.0.1",
      "127.1",
      "0x7f.0.0.1",
      "256.0.0.1",
      "1.2.3",
      "fe80::1%eth0",
      "1:2:3:4:5:6:7:8:9",
      "1::2::3",
      "::ffff:1.2.3.256",
      "localhost",
      "",
    ]) {
      assert.equal(parseIp(bad), undefined, bad);
    }
    assert.deepEqual(parseIp("[::1]"), parseIp("::1"));
    assert.deepEqual(parseIp("0:0:0:0:0:0:0:1"), parseIp("::1"));
    assert.equal(formatIp(parseIp("::ffff:127.0.0.1") as Uint8Array), "::ffff:7f00:1");
    assert.equal(formatIp(parseIp("10.0.0.1") as Uint8Array), "10.0.0.1");
  });

  describe("the allow-list", () => {
    const loopback = parseIp("127.0.0.1") as Uint8Array;

    test("opens a private address inside a listed CIDR block, and its IPv4-mapped form", () => {
      assert.equal(isAllowed(loopback, "127.0.0.1", ["127.0.0.1/32"]), true);
      assert.equal(isAllowed(parseIp("::ffff:127.0.0.1") as Uint8Array, "x", ["127.0.0.0/8"]), true);
      assert.equal(isAllowed(parseIp("10.1.2.3") as Uint8Array, "h", ["10.1.2.0/24"]), true);
      assert.equal(isAllowed(parseIp("10.1.3.3") as Uint8Array, "h", ["10.1.2.0/24"]), false);
      assert.equal(isAllowed(parseIp("fd12::5") as Uint8Array, "h", ["fd12::/64"]), true);
    });

    test("opens whatever a listed host name resolves to, for that name only", () => {
      const addr = parseIp("10.9.9.9") as Uint8Array;
      assert.equal(isAllowed(addr, "hooks.internal.example", ["hooks.internal.example"]), true);
      assert.equal(isAllowed(addr, "HOOKS.internal.example.", ["hooks.internal.example"]), true);
      assert.equal(isAllowed(addr, "evil.example", ["hooks.internal.example"]), false);
    });

    test("never opens metadata, unspecified, multicast or reserved addresses, however they are listed", () => {
      for (const address of [
        "169.254.169.254",
        "::ffff:169.254.169.254",
        "fd00:ec2::254",
        "0.0.0.0",
        "::",
        "224.0.0.1",
        "240.0.0.1",
      ]) {
        const bytes = parseIp(address) as Uint8Array;
        assert.equal(
          isAllowed(bytes, "meta.internal", ["0.0.0.0/0", "::/0", "meta.internal"]),
          false,
          address,
        );
      }
    });

    test("accepts CIDR blocks and host names as entries and refuses anything else", () => {
      for (const good of [
        "10.1.2.3/32",
        "10.0.0.0/8",
        "fd00::/8",
        "127.0.0.1",
        "internal.example",
        "hooks.internal.example.",
      ]) {
        assert.equal(isAllowEntry(good), true, good);
      }
      for (const bad of [
        "10.0.0.0/33",
        "::/129",
        "10.0.0.0/8/1",
        "http://internal.example",
        "internal example",
        "10.1",
        "*.example",
      ]) {
        assert.equal(isAllowEntry(bad), false, bad);
      }
      assert.deepEqual(parseCidr("10.0.0.0/8")?.bits, 8);
    });
  });
});
