/**
 * Slack ack latency: signed slash commands and button clicks sent at a steady rate to the real
 * bot (fake Slack Web API on loopback), timed from sending to the HTTP answer — the ack Slack
 * waits for, at most 3 seconds. Half are commands (`help`, `status <id>`), half are clicks
 * (Review, which opens a modal; Approve by someone who may not, which is refused and audited).
 * The load and the fake Slack run in a separate process, so the bot's process does only the
 * bot's work; a short warm-up at a quarter of the rate comes first and is not counted.
 *
 * BENCH_SLACK_RATE (default 200 per second) and BENCH_SLACK_SECONDS (default 10; the issue's
 * figure is 30) set the load. Prints figures; never fails on a number.
 */
import { fork } from "node:child_process";
import { Agent, request } from "node:http";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { SLACK_IDS } from "../../bot/src/slack/ids.ts";
import type { RequestView } from "@dbward/shared";
import { FAKE_SIGNING_SECRET, FakeSlack } from "../support/fake-slack.ts";
import { signSlackRequest } from "../support/slack-signer.ts";
import { SLACK_USERS, startSlackHarness } from "../slack/slack-harness.ts";
import { SlackRequests } from "../slack/slack-requests.ts";
import { fmt, summary } from "./stats.ts";

const RATE = Number(process.env.BENCH_SLACK_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_SLACK_SECONDS ?? 10);

const KINDS = ["command help", "command status", "click review", "click approve (refused)"] as const;
type Kind = (typeof KINDS)[number];

interface LoadJob {
  endpoint: string;
  requestId: string;
}
interface LoadResult {
  latencies: Record<Kind, number[]>;
  /** Answers other than 200, by status (0: no answer). */
  failures: Record<string, number>;
  sentMs: number;
}

/** The load generator, in its own process: open loop, one request every 1/rate seconds. */
async function generateLoad(job: LoadJob, fake: FakeSlack): Promise<LoadResult> {
  const slack = new SlackRequests(job.endpoint, fake);
  // Plain keep-alive HTTP: the load process must stay light, it shares the machine with the bot.
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const send = (body: string): Promise<number> =>
    new Promise((resolve) => {
      const req = request(
        job.endpoint,
        {
          method: "POST",
          agent,
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            ...signSlackRequest(FAKE_SIGNING_SECRET, body),
          },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", () => resolve(0));
      req.end(body);
    });
  const bodies: Record<Kind, () => string> = {
    "command help": () => slack.commandBody(SLACK_USERS.bob, "help"),
    "command status": () => slack.commandBody(SLACK_USERS.bob, `status ${job.requestId}`),
    "click review": () => slack.clickBody(SLACK_USERS.bob, SLACK_IDS.actions.review, job.requestId),
    "click approve (refused)": () =>
      slack.clickBody(SLACK_USERS.olga, SLACK_IDS.actions.approve, job.requestId),
  };
  const run = async (rate: number, seconds: number): Promise<LoadResult> => {
    const latencies = Object.fromEntries(KINDS.map((k) => [k, [] as number[]])) as Record<Kind, number[]>;
    const failures: Record<string, number> = {};
    const total = Math.round(rate * seconds);
    const start = performance.now();
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < total; i += 1) {
      const wait = start + (i * 1000) / rate - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const kind = KINDS[i % KINDS.length] ?? "command help";
      const body = bodies[kind]();
      inflight.push(
        (async () => {
          const t0 = performance.now();
          const status = await send(body);
          if (status !== 200) failures[status] = (failures[status] ?? 0) + 1;
          latencies[kind].push(performance.now() - t0);
        })(),
      );
    }
    const sentMs = performance.now() - start;
    await Promise.all(inflight);
    return { latencies, failures, sentMs };
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
  const s = await startSlackHarness(undefined, slackEnv);
  const created = await s.h.call(await s.h.tokenFor("alice"), "POST", "/api/requests", {
    database: "shop",
    environment: "production",
    sql: "UPDATE orders SET status = 'paid' WHERE id = 1",
    reason: "bench",
  });
  const job: LoadJob = {
    endpoint: `${s.h.url}/slack/events`,
    requestId: String((created.body as RequestView).id),
  };
  await s.settle();
  const cpu0 = process.cpuUsage();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  child.send(job);
  const result = (await messages.next()).value as LoadResult;
  const cpu = process.cpuUsage(cpu0);
  loop.disable();
  const drain0 = performance.now();
  await s.settle();
  const drained = performance.now() - drain0;
  child.kill();
  const total = Math.round(RATE * SECONDS);
  console.log(
    `Slack ack latency: ${total} signed requests at ${RATE}/s for ${SECONDS} s ` +
      `(sent at ${fmt((total / result.sentMs) * 1000, 0)}/s), not answered 200: ${JSON.stringify(result.failures)}`,
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
  console.log(`  work after the acks drained ${fmt(drained, 0)} ms after the last answer`);
  const served = total + Math.round((RATE / 4) * 2);
  const errors = (await s.h.bot.metrics.slackApiErrors.get()).values;
  const failed = errors.map((v) => `${String(v.labels.method)} ${String(v.labels.code)} ×${v.value}`);
  console.log(
    `  Slack calls that failed and were retried or dropped: ${failed.length === 0 ? "none" : failed.join(", ")}`,
  );
  const ms = (ns: number): string => fmt(ns / 1e6);
  console.log(
    `  bot event loop delay: p50 ${ms(loop.percentile(50))} ms, p99 ${ms(loop.percentile(99))} ms, max ${ms(loop.max)} ms`,
  );
  console.log(`  bot process CPU: ${fmt((cpu.user + cpu.system) / 1000 / served, 2)} ms per request`);
  await s.stop();
}

if (process.argv.includes("--load")) {
  const fake = await FakeSlack.start();
  fake.record = false;
  process.once("message", (job) => {
    generateLoad(job as LoadJob, fake).then(
      (r) => process.send?.(r),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
  process.send?.(fake.env());
} else {
  await main();
}
