/**
 * A bot loads the SQL parsers of its own databases' dialects only (bot/src/main.ts), so a config
 * reload that adds a database of a new dialect must load its parser before the config is current,
 * and reloads that overlap must end in the order they were asked for. Runs in its own process
 * with no agent, so nothing else has loaded a parser this bot did not ask for.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { parseBotConfig } from "../bot/src/config/bot-config.ts";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";

const BASE = `
databases:
  - { name: shop, dialect: postgres, environments: [production] }
workflows:
  - { name: reads-auto, operations: [read], auto_approve: always }
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: root, name: Root, roles: [admin] }
`;
const withDatabase = (name: string, dialect: string): string =>
  BASE.replace(
    "databases:\n",
    `databases:\n  - { name: ${name}, dialect: ${dialect}, environments: [production] }\n`,
  );

describe("config reloads and the SQL parsers they need", () => {
  let h: BotHarness;
  let alice: string;
  before(async () => {
    h = await startBotHarness(BASE);
    alice = await h.tokenFor("alice");
  });
  after(() => h.stop());

  const plan = async (database: string) =>
    (await h.call(alice, "POST", "/api/preflight", {
      database,
      environment: "production",
      sql: "SELECT 1",
    })) as {
      status: number;
      body: {
        ok?: boolean;
        review?: { class: string; findings: { rule: string }[] };
        error?: { code: string };
      };
    };

  test("a reload that adds a MySQL database makes its reads reviewable at once", async () => {
    assert.equal((await plan("shop")).body.review?.class, "read");
    await h.bot.reload(parseBotConfig(withDatabase("legacy", "mysql")));
    const legacy = await plan("legacy");
    assert.equal(legacy.status, 200, JSON.stringify(legacy.body));
    assert.equal(legacy.body.review?.class, "read", JSON.stringify(legacy.body.review));
  });

  test("two overlapping reloads leave the later config in force, whichever needed a parser", async () => {
    // The first needs SQLite's grammar loaded; the second, asked for while it loads, needs none.
    const first = h.bot.reload(parseBotConfig(withDatabase("local", "sqlite")));
    const second = h.bot.reload(parseBotConfig(BASE));
    await Promise.all([first, second]);
    const local = await plan("local");
    assert.notEqual(local.body.ok, true, "the database the later config removed is gone");
    assert.equal((await plan("shop")).body.review?.class, "read");
  });
});
