/**
 * Webhooks across the bot's life: a config whose secrets are missing is refused at start and on
 * reload, and a retry still waiting when the bot stops is kept for the next start
 * (test/webhooks-restart.test.ts sends it).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import Database from "better-sqlite3";
import { parseBotConfig } from "@dbward/bot";
import type { RequestView } from "@dbward/shared";
import { TEST_CONFIG, startBotHarness } from "./support/bot-harness.ts";
import { startWebhookReceiver } from "./support/webhook-receiver.ts";

const SECRET = "whsec-test-0123456789abcdefghijklmnopqrstuvwxyz";
const withHook = (url: string, rest = ""): string =>
  `${TEST_CONFIG}\nwebhooks_allow_private: ["127.0.0.1/32"]\nwebhooks:\n  - { name: ops, url: "${url}", secret_env: HOOK_SECRET, events: [request.created]${rest} }\n`;

describe("webhooks across the bot's life", () => {
  test("refuses to start when a webhook's secret is missing or short, naming the variable", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "dbward-webhooks-"));
    try {
      const config = withHook("https://hooks.example.com/x");
      await assert.rejects(
        startBotHarness(config, { dataDir }),
        /HOOK_SECRET is not set or shorter than 32 characters/,
      );
      await assert.rejects(
        startBotHarness(config, { dataDir, env: { HOOK_SECRET: "short" } }),
        /HOOK_SECRET/,
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test("refuses a reload that adds a webhook without its secret, and keeps the running config", async () => {
    const h = await startBotHarness();
    try {
      await assert.rejects(
        h.bot.reload(parseBotConfig(withHook("https://hooks.example.com/x"))),
        /HOOK_SECRET/,
      );
      assert.deepEqual(h.bot.ctx.config().webhooks, []);
    } finally {
      await h.stop();
    }
  });

  test("keeps a scheduled retry for the next start when the bot stops", async () => {
    const receiver = await startWebhookReceiver(() => ({ status: 503 }));
    const dataDir = mkdtempSync(join(tmpdir(), "dbward-webhooks-"));
    const h = await startBotHarness(withHook(receiver.url, ", backoff_ms: 600000"), {
      dataDir,
      env: { HOOK_SECRET: SECRET },
    });
    let running = true;
    try {
      const created = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
        database: "shop",
        environment: "staging",
        sql: "UPDATE t SET a = 1 WHERE id = 1",
        reason: "retry test",
      });
      const id = (created.body as RequestView).id;
      const deadline = Date.now() + 15_000;
      for (;;) {
        const row = await h.bot.store
          .selectFrom("webhook_deliveries")
          .select("next_attempt_at")
          .where("request_id", "=", id)
          .executeTakeFirst();
        if (row?.next_attempt_at != null) break;
        assert.ok(Date.now() < deadline, "the first attempt never scheduled a retry");
        await new Promise((r) => setTimeout(r, 20));
      }
      await h.stop();
      running = false;
      const db = new Database(join(dataDir, "bot", "dbward.sqlite"), { readonly: true });
      const rows = db
        .prepare(
          "SELECT attempt, status, http_status, error, next_attempt_at IS NOT NULL AS scheduled FROM webhook_deliveries",
        )
        .all();
      db.close();
      assert.deepEqual(rows, [
        {
          attempt: 1,
          status: "failed",
          http_status: 503,
          error: "the receiver answered HTTP 503",
          scheduled: 1,
        },
      ]);
    } finally {
      if (running) await h.stop();
      await receiver.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
