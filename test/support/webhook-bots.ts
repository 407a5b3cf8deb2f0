/**
 * Real bots started one after another on one data directory, as restarts start them, with a real
 * local webhook receiver: for the webhook tests whose point is what outlives a bot (the state file,
 * alice's token), so they can stop a bot, edit its file as a crash or a clock would, and start the
 * next one.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { parseBotConfig, startBot } from "@dbward/bot";
import type { RequestView } from "@dbward/shared";
import { pino } from "pino";
import { TEST_CONFIG, startBotHarness } from "./bot-harness.ts";
import { startWebhookReceiver, type Reply, type WebhookReceiver } from "./webhook-receiver.ts";

/** Every webhook here signs with it, so a test can check a signature against it. */
export const SECRET = "whsec-test-0123456789abcdefghijklmnopqrstuvwxyz";
const ENV = { HOOK_SECRET: SECRET };
/** Written into `next_attempt_at` or `started_at` to make a retry or a stale attempt due now. */
export const LONG_AGO = "2000-01-01T00:00:00.000Z";

/**
 * A config whose webhooks all post to `url`; each entry is `name` plus extra flow-map fields. The
 * long backoff keeps a retry from coming due during a test unless the test moves it.
 */
export function configWith(url: string, hooks: Record<string, string>): string {
  const lines = Object.entries(hooks).map(
    ([name, rest]) =>
      `  - { name: ${name}, url: "${url}", secret_env: HOOK_SECRET, backoff_ms: 600000, ${rest} }`,
  );
  return `${TEST_CONFIG}\nwebhooks_allow_private: ["127.0.0.1/32"]\nwebhooks:\n${lines.join("\n")}\n`;
}

export interface StartedBot {
  readonly url: string;
  /** Safe to call again: the test's own stop and the cleanup after it may both run. */
  stop(): Promise<void>;
}

/** Creates a request on shop/staging as `token`'s user and returns its id. */
export async function postRequest(url: string, token: string, sql: string, reason: string): Promise<number> {
  const res = await fetch(`${url}/api/requests`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ database: "shop", environment: "staging", sql, reason }),
  });
  assert.equal(res.status, 201);
  return ((await res.json()) as RequestView).id;
}

/** Polls the delivery rows until `done` holds (bounded; fails with what the rows say). */
export async function rowsUntil<R>(rows: () => R[], done: (all: R[]) => boolean): Promise<R[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const all = rows();
    if (done(all)) return all;
    assert.ok(Date.now() < deadline, `the deliveries never settled: ${JSON.stringify(all, null, 1)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * One data directory per test: `setUp` and `tearDown` go to beforeEach and afterEach. Everything
 * started through it is stopped in tearDown, so a failed assertion leaves no bot or receiver behind.
 */
export function webhookBots(tmpPrefix: string) {
  let dataDir = "";
  const cleanups: (() => Promise<void>)[] = [];
  const file = (): string => join(dataDir, "bot", "dbward.sqlite");

  function stopOnce(close: () => Promise<void>): () => Promise<void> {
    let running = true;
    const stop = async (): Promise<void> => {
      if (!running) return;
      running = false;
      await close();
    };
    cleanups.push(stop);
    return stop;
  }

  return {
    setUp(): void {
      dataDir = mkdtempSync(join(tmpdir(), tmpPrefix));
    },

    async tearDown(): Promise<void> {
      for (const c of cleanups.splice(0).reverse()) await c();
      rmSync(dataDir, { recursive: true, force: true });
    },

    async receiver(reply: (index: number) => Reply = () => ({ status: 204 })): Promise<WebhookReceiver> {
      const r = await startWebhookReceiver((_h, i) => reply(i));
      cleanups.push(() => r.close());
      return r;
    },

    /** Through the harness, because only a first start can hand out `alice`'s token; later bots keep it. */
    async firstBot(config: string): Promise<StartedBot & { readonly token: string }> {
      const h = await startBotHarness(config, { dataDir, env: ENV });
      const stop = stopOnce(() => h.stop());
      return { url: h.url, token: await h.tokenFor("alice"), stop };
    },

    /** A later bot on the same data directory, as a restart would start it. */
    async nextBot(config: string): Promise<StartedBot> {
      const bot = await startBot({
        config: parseBotConfig(config),
        dataDir: join(dataDir, "bot"),
        env: ENV,
        logger: pino({ level: "silent" }),
        listen: { host: "127.0.0.1", port: 0 },
      });
      return { url: bot.url, stop: stopOnce(() => bot.close()) };
    },

    /** Reads the state file directly: what a bot left there is what the tests assert on. */
    read<T>(sql: string, ...params: unknown[]): T[] {
      const db = new Database(file(), { readonly: true });
      try {
        return db.prepare(sql).all(...params) as T[];
      } finally {
        db.close();
      }
    },

    /** Writes the state file between bots, to leave what a crash or the passing of time would. */
    write(sql: string, ...params: unknown[]): void {
      const db = new Database(file());
      try {
        db.prepare(sql).run(...params);
      } finally {
        db.close();
      }
    },
  };
}
