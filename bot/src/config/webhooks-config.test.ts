import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { parseBotConfig } from "./bot-config.ts";

const BASE = `
databases:
  - { name: shop, dialect: postgres, environments: [production, staging] }
workflows:
  - { name: reads, operations: [read], auto_approve: always }
`;

function problemsOf(extra: string): string {
  try {
    parseBotConfig(`${BASE}${extra}`);
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail("the config was accepted");
}

describe("webhook and audit configuration", () => {
  test("reads webhooks with their defaults, the allow-list and the audit settings", () => {
    const c = parseBotConfig(`${BASE}
audit: { checkpoint_every_events: 50, retention_days: 400 }
webhooks_allow_private: ["10.1.2.3/32", "hooks.internal.example"]
webhooks:
  - { name: ops, url: "https://hooks.example.com/dbward", secret_env: OPS_HOOK_SECRET, database: shop, events: [request.approved] }
`);
    assert.deepEqual(c.audit, {
      checkpoint_every_events: 50,
      checkpoint_every_minutes: 15,
      retention_days: 400,
    });
    assert.deepEqual(c.webhooks_allow_private, ["10.1.2.3/32", "hooks.internal.example"]);
    assert.deepEqual(c.webhooks[0], {
      name: "ops",
      url: "https://hooks.example.com/dbward",
      secret_env: "OPS_HOOK_SECRET",
      database: "shop",
      environment: "*",
      events: ["request.approved"],
      timeout_ms: 5000,
      max_attempts: 5,
      backoff_ms: 2000,
    });
  });

  test("accepts the example in docs/webhooks.md as it is written", () => {
    const doc = readFileSync(new URL("../../../docs/webhooks.md", import.meta.url), "utf8");
    const yaml = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(yaml !== undefined, "docs/webhooks.md has a YAML example");
    const c = parseBotConfig(`${BASE}${yaml}`);
    assert.equal(c.webhooks[0]?.name, "prod-ops");
    assert.deepEqual(c.webhooks_allow_private, ["10.1.2.3/32", "hooks.internal.example"]);
  });

  test("defaults to checkpoints every 100 events or 15 minutes, no retention and no webhooks", () => {
    const c = parseBotConfig(BASE);
    assert.deepEqual(c.audit, { checkpoint_every_events: 100, checkpoint_every_minutes: 15 });
    assert.deepEqual(c.webhooks, []);
    assert.deepEqual(c.webhooks_allow_private, []);
  });

  test("refuses a non-HTTP URL, credentials in the URL and a secret given as anything but a variable name", () => {
    const hook = (fields: string): string =>
      `webhooks:\n  - { name: x, events: [request.created], ${fields} }\n`;
    assert.match(
      problemsOf(hook('url: "ftp://h.example/x", secret_env: S')),
      /webhooks\.0\.url: must be an http:\/\/ or https:\/\/ URL/,
    );
    assert.match(
      problemsOf(hook('url: "https://u:p@h.example/x", secret_env: S')),
      /webhooks\.0\.url: must not carry a user name/,
    );
    assert.match(problemsOf(hook('url: "nope", secret_env: S')), /webhooks\.0\.url: must be an absolute URL/);
    assert.match(
      problemsOf(hook('url: "https://h.example/", secret_env: "hunter2 secret"')),
      /webhooks\.0\.secret_env/,
    );
  });

  test("refuses unknown events, databases, environments, duplicate names and bad allow-list entries", () => {
    const one = (fields: string): string =>
      `  - { name: x, url: "https://h.example/", secret_env: S, ${fields} }`;
    assert.match(problemsOf(`webhooks:\n${one("events: [request.deleted]")}\n`), /webhooks\.0\.events\.0/);
    assert.match(problemsOf(`webhooks:\n${one("events: []")}\n`), /webhooks\.0\.events/);
    assert.match(
      problemsOf(`webhooks:\n${one("database: nope, events: [request.created]")}\n`),
      /webhooks\.0\.database: unknown database nope/,
    );
    assert.match(
      problemsOf(`webhooks:\n${one("database: shop, environment: dev, events: [request.created]")}\n`),
      /webhooks\.0\.environment: database shop has no environment dev/,
    );
    assert.match(
      problemsOf(`webhooks:\n${one("events: [request.created]")}\n${one("events: [request.created]")}\n`),
      /webhooks: duplicate name x/,
    );
    assert.match(problemsOf('webhooks_allow_private: ["10.0.0.0/40"]\n'), /webhooks_allow_private\.0/);
    assert.match(problemsOf("audit: { checkpoint_every_events: 0 }\n"), /audit\.checkpoint_every_events/);
    assert.match(problemsOf("audit: { retention: 5 }\n"), /audit/);
  });
});
