/**
 * Slack ack latency in Socket Mode, beside the HTTP figures (`npm run bench -- slack-ack` runs
 * both files): envelopes sent at a steady rate over the bot's two WebSocket connections by a local
 * fake of Slack's Socket Mode endpoint, timed from sending to the bot's ack. The same mix as the
 * HTTP bench: commands (`help`, `status <id>`) and clicks (Review; Approve by someone who may not).
 * The fake and the load run in a separate process; a short warm-up is not counted.
 *
 * BENCH_SLACK_RATE (default 200 per second) and BENCH_SLACK_SECONDS (default 10) set the load.
 * Prints figures; never fails on a number.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { SLACK_IDS } from "../../bot/src/slack/ids.ts";
import type { RequestView } from "@dbward/shared";
import { startBotHarness } from "../support/bot-harness.ts";
import { FakeSlack } from "../support/fake-slack.ts";
import { FakeSocketMode } from "../support/fake-socket-mode.ts";
import { SLACK_TEST_CONFIG, SLACK_USERS } from "../slack/slack-harness.ts";
import { SlackRequests } from "../slack/slack-requests.ts";
import { fmt, summary } from "./stats.ts";

const RATE = Number(process.env.BENCH_SLACK_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_SLACK_SECONDS ?? 10);
const KINDS = ["command help", "command status", "click review", "click approve (refused)"] as const;
type Kind = (typeof KINDS)[number];

interface LoadResult {
  latencies: Record<Kind, number[]>;
  unacked: number;
  sentMs: number;
}

async function generateLoad(fake: FakeSlack, socket: FakeSocketMode, requestId: string): Promise<LoadResult> {
  const shapes = new SlackRequests("http://unused.invalid", fake);
  const command = (user: string, text: string) =>
    Object.fromEntries(new URLSearchParams(shapes.commandBody(user, text)));
  const click = (user: string, action: string) =>
    JSON.parse(
      new URLSearchParams(shapes.clickBody(user, action, requestId)).get("payload") ?? "{}",
    ) as Record<string, unknown>;
  const envelopes: Record<Kind, () => ["slash_commands" | "interactive", Record<string, unknown>]> = {
    "command help": () => ["slash_commands", command(SLACK_USERS.bob, "help")],
    "command status": () => ["slash_commands", command(SLACK_USERS.bob, `status ${requestId}`)],
    "click review": () => ["interactive", click(SLACK_USERS.bob, SLACK_IDS.actions.review)],
    "click approve (refused)": () => ["interactive", click(SLACK_USERS.olga, SLACK_IDS.actions.approve)],
  };
  const run = async (rate: number, seconds: number): Promise<LoadResult> => {
    const latencies = Object.fromEntries(KINDS.map((k) => [k, [] as number[]])) as Record<Kind, number[]>;
    let unacked = 0;
    const total = Math.round(rate * seconds);
    const start = performance.now();
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < total; i += 1) {
      const wait = start + (i * 1000) / rate - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const kind = KINDS[i % KINDS.length] ?? "command help";
      const [type, payload] = envelopes[kind]();
      const t0 = performance.now();
      inflight.push(
        socket.send(type, payload, { on: i % socket.connections }).then(
          () => {
            latencies[kind].push(performance.now() - t0);
          },
          () => {
            unacked += 1;
          },
        ),
      );
    }
    const sentMs = performance.now() - start;
    await Promise.all(inflight);
    return { latencies, unacked, sentMs };
  };
  await run(RATE / 4, 2);
  await new Promise((r) => setTimeout(r, 1000));
  return run(RATE, SECONDS);
}

async function main(): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), ["--load"], { execArgv: ["--import", "tsx"] });
  const messages = (async function* () {
    for (;;) yield await new Promise<unknown>((resolve) => child.once("message", resolve));
  })();
  const slackEnv = (await messages.next()).value as Record<string, string>;
  const h = await startBotHarness(SLACK_TEST_CONFIG.replace("slack:\n", "slack:\n  mode: socket\n"), {
    slack: { env: slackEnv },
  });
  const created = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
    database: "shop",
    environment: "production",
    sql: "UPDATE orders SET status = 'paid' WHERE id = 1",
    reason: "bench",
  });
  await h.bot.slack?.idle();
  const cpu0 = process.cpuUsage();
  child.send({ requestId: String((created.body as RequestView).id) });
  const result = (await messages.next()).value as LoadResult;
  const cpu = process.cpuUsage(cpu0);
  const total = Math.round(RATE * SECONDS);
  console.log(
    `Slack ack latency, Socket Mode: ${total} envelopes at ${RATE}/s for ${SECONDS} s over 2 connections ` +
      `(sent at ${fmt((total / result.sentMs) * 1000, 0)}/s), never acked: ${result.unacked}`,
  );
  const all: number[] = [];
  for (const kind of KINDS) {
    const values = result.latencies[kind];
    all.push(...values);
    const x = summary(values);
    console.log(
      `  ${kind.padEnd(24)} n=${x.n} p50 ${fmt(x.p50)} ms, p99 ${fmt(x.p99)} ms, max ${fmt(x.max)} ms`,
    );
  }
  const x = summary(all);
  console.log(
    `  ${"all".padEnd(24)} n=${x.n} p50 ${fmt(x.p50)} ms, p99 ${fmt(x.p99)} ms, max ${fmt(x.max)} ms`,
  );
  const served = total + Math.round((RATE / 4) * 2);
  console.log(`  bot process CPU: ${fmt((cpu.user + cpu.system) / 1000 / served, 2)} ms per envelope`);
  await h.stop();
  child.kill();
}

if (process.argv.includes("--load")) {
  const fake = await FakeSlack.start();
  fake.record = false;
  const socket = await FakeSocketMode.start(fake);
  process.once("message", (job) => {
    (async () => {
      await socket.connected(2);
      return generateLoad(fake, socket, (job as { requestId: string }).requestId);
    })().then(
      (r) => process.send?.(r),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
  const env = Object.fromEntries(Object.entries(fake.env()).filter(([k]) => k !== "SLACK_SIGNING_SECRET"));
  process.send?.({ ...env, SLACK_APP_TOKEN: "xapp-1-A0BENCH-1-fake" });
} else {
  await main();
}
