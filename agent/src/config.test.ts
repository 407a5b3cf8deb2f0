import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { inspect } from "node:util";
import { DbwardError, encodePublicKey, generateSigningKey } from "@dbward/shared";
import { isLoopbackHost } from "./bot-url.ts";
import { loadAgentConfig } from "./config.ts";
import { Secret } from "./secret.ts";

const key = generateSigningKey();
const ENV = { DBWARD_AGENT_TOKEN: "tok-123", ORDERS_URL: "postgres://agent:pw@db/orders" };

function yaml(overrides: Record<string, string> = {}): string {
  const lines: Record<string, string> = {
    id: "id: agent-1",
    bot_url: "bot_url: https://dbward.example.com",
    keys: `keys:\n  ${key.kid}: ${encodePublicKey(key)}`,
    data_dir: "data_dir: /var/lib/dbward-agent",
    databases: [
      "databases:",
      "  - name: orders",
      "    environment: production",
      "    driver: postgres",
      "    url_env: ORDERS_URL",
      "    operations: [read]",
    ].join("\n"),
    ...overrides,
  };
  return Object.values(lines)
    .filter((l) => l !== "")
    .join("\n");
}

/** The problems a config.invalid error lists. */
function problems(text: string, env: Record<string, string | undefined> = ENV): string[] {
  try {
    loadAgentConfig(text, env);
  } catch (err) {
    assert.ok(err instanceof DbwardError);
    assert.equal(err.code, "config.invalid");
    return err.details?.problems as string[];
  }
  assert.fail("the config was accepted");
}

describe("loadAgentConfig", () => {
  test("loads a minimal config and fills in the documented defaults", () => {
    const config = loadAgentConfig(yaml(), ENV);
    assert.equal(config.id, "agent-1");
    assert.equal(config.allowInsecure, false);
    assert.equal(config.pollWaitMs, 25_000);
    assert.equal(config.agentToken.reveal(), "tok-123");
    assert.deepEqual([...config.keys.keys()], [key.kid]);
    const [db] = config.databases;
    assert.ok(db !== undefined);
    assert.deepEqual(
      {
        name: db.name,
        env: db.environment,
        driver: db.driver,
        ops: db.operations,
        t: db.statementTimeoutMs,
        cap: db.rowCap,
        bytes: db.resultMaxBytes,
      },
      {
        name: "orders",
        env: "production",
        driver: "postgres",
        ops: ["read"],
        t: 30_000,
        cap: 1_000_000,
        bytes: 1024 ** 3,
      },
    );
    assert.deepEqual(
      {
        retry: config.resultRetryMs,
        drain: config.drainMs,
        live: config.livenessFile,
        ready: config.readinessFile,
      },
      {
        retry: 120_000,
        drain: 30_000,
        live: join(config.dataDir, "alive"),
        ready: join(config.dataDir, "ready"),
      },
    );
    assert.equal(db.url.reveal(), ENV.ORDERS_URL);
    assert.equal(db.urlEnv, "ORDERS_URL");
  });

  test("returns a frozen object", () => {
    const config = loadAgentConfig(yaml(), ENV);
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.databases));
    assert.ok(Object.isFrozen(config.databases[0]));
  });

  test("never shows the agent token or a connection URL when the config is printed", () => {
    const config = loadAgentConfig(yaml(), ENV);
    for (const text of [
      JSON.stringify(config),
      inspect(config, { depth: 10 }),
      `${String(config.agentToken)}`,
    ]) {
      assert.ok(!text.includes("tok-123"), text);
      assert.ok(!text.includes("pw@db"), text);
    }
    assert.ok(JSON.stringify(config.databases).includes("[redacted]"));
  });

  test("reads the agent token from the variable token_env names", () => {
    const config = loadAgentConfig(yaml({ token_env: "token_env: MY_TOKEN" }), { ...ENV, MY_TOKEN: "other" });
    assert.equal(config.agentToken.reveal(), "other");
  });

  test("reports every bad or missing key at once, each by its path", () => {
    const text = yaml({
      id: "id: Agent One",
      bot_url: "bot_url: not a url",
      keys: "keys: {}",
      data_dir: "",
      databases: [
        "databases:",
        "  - name: orders",
        "    environment: production",
        "    driver: oracle",
        "    url_env: ORDERS_URL",
        "    operations: [read, drop]",
        "    row_cap: 0",
        "    row_cpa: 5",
      ].join("\n"),
      extra: "poll_wait_ms: 60000",
    });
    const found = problems(text);
    for (const path of [
      "id:",
      "bot_url:",
      "keys:",
      "data_dir:",
      "databases.0.driver:",
      "databases.0.operations.1:",
      "databases.0.row_cap:",
      "databases.0.row_cpa: unknown key",
      "poll_wait_ms:",
    ]) {
      assert.ok(
        found.some((p) => p.startsWith(path)),
        `expected a problem at ${path} in:\n${found.join("\n")}`,
      );
    }
  });

  test("puts every problem in the error message, one per line", () => {
    assert.throws(
      () => loadAgentConfig(yaml({ id: "id: BAD", data_dir: "" }), ENV),
      (err: DbwardError) => /^ {2}- id: /m.test(err.message) && /^ {2}- data_dir: /m.test(err.message),
    );
  });

  test("pins key ids exactly as written, even those YAML would read as numbers", () => {
    // Hex key ids: 77221e1554620437 is a float to YAML (Infinity), a long digit run loses digits,
    // 0x1f is 31. Pinned as YAML reads them, every token would be refused as an unknown key.
    const pub = encodePublicKey(key);
    const kids = ["77221e1554620437", "1234567890123456789", "0x1f", "0012", "6e10", "7e3a"];
    const c = loadAgentConfig(yaml({ keys: `keys:\n${kids.map((k) => `  ${k}: ${pub}`).join("\n")}` }), ENV);
    assert.deepEqual([...c.keys.keys()].sort(), [...kids].sort());
    const quoted = loadAgentConfig(yaml({ keys: `keys:\n  "77221e1554620437": "${pub}"` }), ENV);
    assert.deepEqual([...quoted.keys.keys()], ["77221e1554620437"]);
  });

  test("refuses a pinned key that is not a base64url Ed25519 public key", () => {
    const found = problems(yaml({ keys: "keys:\n  k1: not-a-key" }));
    assert.ok(
      found.some((p) => p.startsWith("keys.k1:")),
      found.join("\n"),
    );
  });

  test("refuses the same database and environment twice", () => {
    const db =
      "  - { name: orders, environment: production, driver: postgres, url_env: ORDERS_URL, operations: [read] }";
    const found = problems(yaml({ databases: `databases:\n${db}\n${db}` }));
    assert.ok(
      found.some((p) => p.startsWith("databases.1: duplicate database orders/production")),
      found.join("\n"),
    );
  });

  test("refuses text that is not YAML", () => {
    assert.throws(() => loadAgentConfig("id: [unclosed", ENV), { code: "config.invalid" });
  });

  test("refuses an empty document, listing the required keys", () => {
    const found = problems("");
    for (const key of ["id:", "bot_url:", "keys:", "data_dir:", "databases:"]) {
      assert.ok(
        found.some((p) => p.startsWith(key)),
        `${key} missing from ${found.join("\n")}`,
      );
    }
  });
});

describe("loadAgentConfig: environment variables", () => {
  test("refuses to load when the agent token variable is not set, naming the variable", () => {
    const found = problems(yaml(), { ORDERS_URL: ENV.ORDERS_URL });
    assert.deepEqual(found, ["token_env: environment variable DBWARD_AGENT_TOKEN is not set"]);
  });

  test("refuses to load when a database URL variable is not set, naming the variable", () => {
    const found = problems(yaml(), { DBWARD_AGENT_TOKEN: "t" });
    assert.deepEqual(found, ["databases.0.url_env: environment variable ORDERS_URL is not set"]);
  });

  test("treats an empty variable as not set", () => {
    const found = problems(yaml(), { ...ENV, DBWARD_AGENT_TOKEN: "" });
    assert.deepEqual(found, ["token_env: environment variable DBWARD_AGENT_TOKEN is not set"]);
  });

  test("reports missing variables together with other problems", () => {
    const found = problems(yaml({ id: "id: NOPE" }), {});
    assert.equal(found.length, 3, found.join("\n"));
  });
});

describe("loadAgentConfig: bot_url transport security", () => {
  const withUrl = (url: string, insecure?: boolean): string =>
    yaml({
      bot_url: `bot_url: ${url}`,
      ...(insecure === undefined ? {} : { insecure: `allow_insecure: ${insecure}` }),
    });

  test("refuses plain http to a host that is not loopback", () => {
    const found = problems(withUrl("http://dbward.internal:8080"));
    assert.equal(found.length, 1);
    assert.match(found[0] ?? "", /^bot_url: plain http:\/\/ to dbward\.internal/);
  });

  test("refuses plain http to a private address as well", () => {
    assert.equal(problems(withUrl("http://10.0.0.5")).length, 1);
  });

  test("accepts plain http to a non-loopback host when allow_insecure is true", () => {
    assert.equal(loadAgentConfig(withUrl("http://dbward.internal:8080", true), ENV).allowInsecure, true);
  });

  test("accepts plain http on loopback without allow_insecure", () => {
    for (const url of [
      "http://127.0.0.1:8080",
      "http://127.9.8.7",
      "http://localhost:3000",
      "http://[::1]:8080",
    ]) {
      assert.equal(loadAgentConfig(withUrl(url), ENV).botUrl, url);
    }
  });

  test("refuses a bot URL with credentials, a query or another scheme", () => {
    for (const url of [
      "https://user:pw@dbward.example.com",
      "https://dbward.example.com/?x=1",
      "ftp://dbward.example.com",
    ]) {
      assert.equal(problems(withUrl(url)).length, 1, url);
    }
  });

  test("isLoopbackHost knows loopback hosts from look-alikes", () => {
    assert.ok(isLoopbackHost("127.0.0.1") && isLoopbackHost("localhost") && isLoopbackHost("[::1]"));
    for (const host of ["128.0.0.1", "localhost.example.com", "127.0.0.1.nip.io", "[::2]", "0.0.0.0"]) {
      assert.equal(isLoopbackHost(host), false, host);
    }
  });
});

describe("Secret", () => {
  test("shows [redacted] however it is turned into text", () => {
    const s = new Secret("hunter2");
    for (const text of [String(s), `${s.toString()}`, JSON.stringify({ s }), inspect(s), inspect({ s })]) {
      assert.ok(!text.includes("hunter2"), text);
      assert.ok(text.includes("[redacted]"), text);
    }
    assert.equal(s.reveal(), "hunter2");
  });
});

describe("schema context keys", () => {
  test("collects every database hourly unless told otherwise", () => {
    const config = loadAgentConfig(yaml(), ENV);
    assert.equal(config.schemaIntervalMs, 3_600_000);
    assert.equal(config.databases[0]?.schema, true);
  });

  test("reads schema_interval as a duration and schema: false as an opt-out", () => {
    const config = loadAgentConfig(`${yaml()}\n    schema: false\nschema_interval: 15m`, ENV);
    assert.equal(config.schemaIntervalMs, 900_000);
    assert.equal(config.databases[0]?.schema, false);
  });

  test("refuses a schema_interval that is not a duration, or under a minute", () => {
    for (const bad of ["1 h", "90", "30s", "8d"]) {
      const found = problems(yaml({ interval: `schema_interval: "${bad}"` }));
      assert.ok(
        found.some((p) => p.startsWith("schema_interval: must be a duration like 30m or 1h")),
        `${bad}: ${found.join("; ")}`,
      );
    }
    assert.ok(problems(yaml({ x: "schema: false" })).some((p) => p.startsWith("schema: unknown key")));
  });
});
