/** The examples in docs/ are real configs: they must load with the same code the processes use. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { loadAgentConfig } from "@dbward/agent";
import { parseBotConfig } from "@dbward/bot";

describe("documented example configs", () => {
  test("docs/examples/bot.yml loads", () => {
    const c = parseBotConfig(readFileSync("docs/examples/bot.yml", "utf8"));
    assert.equal(c.workflows.length, 3);
  });

  test("docs/examples/agent.yml loads once its environment variables are set", () => {
    const env = {
      DBWARD_AGENT_TOKEN: "dbwa_x",
      SHOP_PROD_URL: "postgres://a@b/c",
      SHOP_STAGING_URL: "postgres://a@b/d",
      BILLING_URL: "mysql://a@b/e",
    };
    const c = loadAgentConfig(readFileSync("docs/examples/agent.yml", "utf8"), env);
    assert.equal(c.databases.length, 3);
  });

  test("docs/examples/agent.yml without its environment names the missing variables", () => {
    assert.throws(
      () => loadAgentConfig(readFileSync("docs/examples/agent.yml", "utf8"), {}),
      /SHOP_PROD_URL/,
    );
  });
});
