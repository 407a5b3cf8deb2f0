import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseBotConfig } from "../config/bot-config.ts";
import { channelFor } from "./channel-for.ts";

const config = parseBotConfig(`
databases:
  - { name: shop, dialect: postgres, environments: [production, staging] }
  - { name: crm, dialect: mysql, environments: [production] }
workflows: [{ name: all, auto_approve: always }]
slack:
  approvals_channel: "#db-approvals"
  routes:
    - { environment: production, channel: "#db-prod" }
    - { environment: staging, channel: "#db-staging" }
    - { database: crm, environment: production, channel: C0CRMPROD1 }
`);

describe("Slack channel routing", () => {
  const slack = config.slack;
  test("routes by environment", () => {
    assert.ok(slack);
    assert.equal(channelFor(slack, "shop", "production"), "#db-prod");
    assert.equal(channelFor(slack, "shop", "staging"), "#db-staging");
  });

  test("a database and environment entry outranks an environment-only one", () => {
    assert.ok(slack);
    assert.equal(channelFor(slack, "crm", "production"), "C0CRMPROD1");
  });

  test("falls back to the approvals channel", () => {
    assert.ok(slack);
    assert.equal(channelFor({ ...slack, routes: [] }, "shop", "production"), "#db-approvals");
  });

  test("a bad channel in a route is a config error naming the key", () => {
    assert.throws(
      () =>
        parseBotConfig(`
databases: [{ name: shop, dialect: postgres, environments: [production] }]
workflows: [{ name: all, auto_approve: always }]
slack: { approvals_channel: "#a", routes: [{ environment: production, channel: "general" }] }
`),
      /slack\.routes\.0\.channel/,
    );
  });
});
