import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PUBLIC_ADDRESSES, REFUSED_ADDRESSES } from "../../../test/support/ssrf-table.ts";
import { checkDestination, type Lookup } from "./ssrf-guard.ts";

/** A resolver that answers from a table, as DNS would (injected; no real DNS in tests). */
function dns(answers: Record<string, readonly string[]>): Lookup {
  return (hostname) => {
    const list = answers[hostname];
    if (list === undefined) return Promise.reject(new Error(`getaddrinfo ENOTFOUND ${hostname}`));
    return Promise.resolve(list.map((address) => ({ address, family: address.includes(":") ? 6 : 4 })));
  };
}

const noDns: Lookup = () => Promise.reject(new Error("no DNS expected for an IP literal"));

describe("webhook SSRF guard", () => {
  for (const [address, kind] of REFUSED_ADDRESSES) {
    const host = address.includes(":") ? `[${address}]` : address;
    test(`refuses http://${host}/ (${kind}) given as a literal`, async () => {
      const d = await checkDestination(`http://${host}/hook`, { lookup: noDns, allowPrivate: [] });
      assert.equal(d.ok, false);
      assert.equal(!d.ok && d.kind, "refused");
      assert.match(!d.ok ? d.reason : "", new RegExp(kind.replace(/_/g, "-")));
    });

    test(`refuses a host name that resolves to ${address} (${kind})`, async () => {
      const d = await checkDestination("https://hooks.example.com/x", {
        lookup: dns({ "hooks.example.com": [address] }),
        allowPrivate: [],
      });
      assert.equal(!d.ok && d.kind, "refused", JSON.stringify(d));
      assert.match(!d.ok ? d.reason : "", /hooks\.example\.com resolves to/);
    });
  }

  test("accepts public addresses, literal or resolved, and pins the first resolved one", async () => {
    for (const address of PUBLIC_ADDRESSES) {
      const d = await checkDestination("https://hooks.example.com/", {
        lookup: dns({ "hooks.example.com": [address] }),
        allowPrivate: [],
      });
      assert.equal(d.ok, true, address);
    }
    const d = await checkDestination("https://hooks.example.com/", {
      lookup: dns({ "hooks.example.com": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"] }),
      allowPrivate: [],
    });
    assert.deepEqual(d.ok && { address: d.address, family: d.family }, {
      address: "93.184.216.34",
      family: 4,
    });
  });

  test("refuses a name when any of its addresses is refused, whatever the order", async () => {
    for (const answers of [
      ["93.184.216.34", "127.0.0.1"],
      ["10.0.0.1", "93.184.216.34"],
      ["2606:4700::1111", "::ffff:169.254.169.254"],
    ]) {
      const d = await checkDestination("https://mixed.example/", {
        lookup: dns({ "mixed.example": answers }),
        allowPrivate: [],
      });
      assert.equal(!d.ok && d.kind, "refused", answers.join(", "));
    }
  });

  test("refuses localhost, which resolves to loopback", async () => {
    const d = await checkDestination("http://localhost:8080/", {
      lookup: dns({ localhost: ["127.0.0.1", "::1"] }),
      allowPrivate: [],
    });
    assert.equal(!d.ok && d.kind, "refused");
  });

  test("refuses every scheme but http and https, and credentials in the URL", async () => {
    for (const url of [
      "ftp://93.184.216.34/",
      "file:///etc/passwd",
      "gopher://93.184.216.34/",
      "ws://93.184.216.34/",
      "javascript:alert(1)",
      "not a url",
    ]) {
      const d = await checkDestination(url, { lookup: noDns, allowPrivate: [] });
      assert.equal(!d.ok && d.kind, "refused", url);
    }
    const creds = await checkDestination("https://user:pw@93.184.216.34/", {
      lookup: noDns,
      allowPrivate: [],
    });
    assert.match(!creds.ok ? creds.reason : "", /user name or password/);
  });

  test("reads the obfuscated IPv4 forms a URL normalises (hex, short, decimal) as the address they are", async () => {
    for (const url of [
      "http://0x7f000001/",
      "http://2130706433/",
      "http://127.1/",
      "http://0177.0.0.1/",
      "http://[::ffff:127.0.0.1]/",
    ]) {
      const d = await checkDestination(url, { lookup: noDns, allowPrivate: [] });
      assert.equal(!d.ok && d.kind, "refused", url);
    }
  });

  test("reports a name that does not resolve as unresolvable, to be retried, not as refused", async () => {
    const d = await checkDestination("https://nowhere.example/", { lookup: dns({}), allowPrivate: [] });
    assert.equal(!d.ok && d.kind, "unresolvable");
    const empty = await checkDestination("https://empty.example/", {
      lookup: dns({ "empty.example": [] }),
      allowPrivate: [],
    });
    assert.equal(!empty.ok && empty.kind, "unresolvable");
  });

  describe("with webhooks_allow_private", () => {
    test("reaches a listed CIDR block, by literal or by a name resolving into it", async () => {
      const allowPrivate = ["10.1.2.3/32", "127.0.0.1/32"];
      assert.equal((await checkDestination("http://10.1.2.3/", { lookup: noDns, allowPrivate })).ok, true);
      assert.equal((await checkDestination("http://127.0.0.1:9/", { lookup: noDns, allowPrivate })).ok, true);
      const named = await checkDestination("http://hooks.corp/", {
        lookup: dns({ "hooks.corp": ["10.1.2.3"] }),
        allowPrivate,
      });
      assert.equal(named.ok, true);
      const other = await checkDestination("http://10.1.2.4/", { lookup: noDns, allowPrivate });
      assert.equal(!other.ok && other.kind, "refused");
    });

    test("reaches a listed host name's private addresses, and no other name's", async () => {
      const lookup = dns({ "hooks.internal.example": ["10.9.9.9"], "evil.example": ["10.9.9.9"] });
      const allowPrivate = ["hooks.internal.example"];
      assert.equal(
        (await checkDestination("https://hooks.internal.example/", { lookup, allowPrivate })).ok,
        true,
      );
      const evil = await checkDestination("https://evil.example/", { lookup, allowPrivate });
      assert.equal(!evil.ok && evil.kind, "refused");
    });

    test("still refuses metadata and unspecified addresses behind a listed name or block", async () => {
      const lookup = dns({ "meta.internal": ["169.254.169.254"], "zero.internal": ["0.0.0.0"] });
      const allowPrivate = ["meta.internal", "zero.internal", "169.254.0.0/16", "0.0.0.0/0"];
      for (const url of [
        "http://meta.internal/",
        "http://zero.internal/",
        "http://169.254.169.254/",
        "http://[fd00:ec2::254]/",
      ]) {
        const d = await checkDestination(url, { lookup, allowPrivate });
        assert.equal(!d.ok && d.kind, "refused", url);
      }
    });
  });
});
