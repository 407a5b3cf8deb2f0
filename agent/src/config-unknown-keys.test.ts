import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DbwardError, encodePublicKey, generateSigningKey } from "@dbward/shared";
import { loadAgentConfig } from "./config.ts";

const key = generateSigningKey();
const ENV = { DBWARD_AGENT_TOKEN: "tok-123", ORDERS_URL: "postgres://agent:pw@db/orders" };
const VALID = [
  "id: agent-1",
  "bot_url: https://dbward.example.com",
  `keys:\n  ${key.kid}: ${encodePublicKey(key)}`,
  "data_dir: /var/lib/dbward-agent",
  "databases:",
  "  - name: orders",
  "    environment: production",
  "    driver: postgres",
  "    url_env: ORDERS_URL",
  "    operations: [read]",
].join("\n");

function problems(text: string): string[] {
  try {
    loadAgentConfig(text, ENV);
  } catch (err) {
    assert.ok(err instanceof DbwardError && err.code === "config.invalid", String(err));
    const listed = err.details?.problems;
    assert.ok(Array.isArray(listed));
    return listed.map(String);
  }
  return assert.fail("the config was accepted");
}

describe("agent config: unknown keys", () => {
  test("a mistyped key names the key it is probably a typo of, at the top and in a database", () => {
    const found = problems(`${VALID}\n    row_cpa: 10\npoll_wait: 5000\n`);
    for (const expected of [
      "databases.0.row_cpa: unknown key; did you mean `row_cap`?",
      "poll_wait: unknown key; did you mean `poll_wait_ms`?",
    ])
      assert.ok(found.includes(expected), `${expected} in:\n${found.join("\n")}`);
  });

  test("a key close to no accepted key gets no guess", () => {
    assert.ok(problems(`${VALID}\ncolour: red\n`).includes("colour: unknown key"));
  });
});
