/**
 * The Home tab: from a signed `app_home_opened` reaching the bot to its `views.publish` reaching
 * Slack (the local fake), for an approver with more and more pending requests in the store, all of
 * which the bot scans to find those the approver may decide. Prints figures; never fails on a
 * number.
 *
 *   node --import tsx test/bench/home.bench.ts
 */
import { SLACK_TEST_CONFIG, SLACK_USERS, startSlackHarness } from "../slack/slack-harness.ts";
import { fmt, percentile } from "./stats.ts";

const OPENS = Number(process.env.BENCH_OPENS ?? 40);
const PENDING = [10, 100, 500];

const s = await startSlackHarness(
  `${SLACK_TEST_CONFIG}\nhttp: { rate_limits: { request_create: { burst: 100000, per_minute: 100000 } } }\n`,
);
s.fake.record = true;
const alice = await s.h.tokenFor("alice");
let created = 0;
try {
  console.log(`${OPENS} opens per size; ms from the signed event to views.publish at Slack`);
  for (const pending of PENDING) {
    while (created < pending) {
      const res = await s.h.call(alice, "POST", "/api/requests", {
        database: "shop",
        environment: "production",
        sql: `SELECT id, status FROM orders WHERE id = ${created}`,
        reason: `bench request ${created}`,
      });
      if (res.status !== 201) throw new Error(`create failed: ${JSON.stringify(res.body)}`);
      created += 1;
    }
    await s.settle();
    // Bob may decide them all (the scan stops early); Sam none (the scan reads every one).
    for (const [who, slackUser] of [
      ["approver", SLACK_USERS.bob],
      ["requester", SLACK_USERS.sam],
    ] as const) {
      const times: number[] = [];
      for (let i = 0; i < OPENS; i++) {
        s.fake.clear();
        const started = performance.now();
        await s.slack.homeOpened(slackUser);
        await s.fake.waitFor("views.publish", (calls) => calls.some((c) => c.method === "views.publish"));
        times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      console.log(
        `${String(pending).padStart(4)} pending, ${who.padEnd(9)}   median ${fmt(percentile(times, 50), 1).padStart(6)} ms   p95 ${fmt(percentile(times, 95), 1).padStart(6)} ms`,
      );
    }
  }
} finally {
  await s.stop();
}
