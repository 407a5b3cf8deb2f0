/**
 * Slack with two bot instances on one PostgreSQL state behind a load balancer (issue 14: nothing
 * only in memory), both pointed at one fake Slack:
 * - SECURITY.md "forged or replayed Slack request": a signed request accepted by one instance,
 *   replayed to the other, is refused 401 as a replay and creates nothing;
 * - a Home tab opened through one instance is redrawn after a change made through the other, even
 *   once the first is gone.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { listAudit } from "@dbward/bot";
import type { BotHarness } from "../support/bot-harness.ts";
import { FakeSlack, type SlackCall } from "../support/fake-slack.ts";
import { sharedPostgresState, type SharedState } from "../support/shared-state-bots.ts";
import { SLACK_TEST_CONFIG, SLACK_USERS, textOf } from "./slack-harness.ts";
import { SlackRequests } from "./slack-requests.ts";

describe("Slack on two bot instances sharing one PostgreSQL state", () => {
  let fake: FakeSlack;
  let shared: SharedState;
  let a: BotHarness;
  let b: BotHarness;
  let toA: SlackRequests;
  let toB: SlackRequests;
  before(async () => {
    fake = await FakeSlack.start();
    shared = await sharedPostgresState(SLACK_TEST_CONFIG);
    a = await shared.start({ slackEnv: fake.env() });
    b = await shared.start({ slackEnv: fake.env() });
    toA = new SlackRequests(`${a.url}/slack/events`, fake);
    toB = new SlackRequests(`${b.url}/slack/events`, fake);
  });
  after(async () => {
    await shared.stop();
    await fake.close();
  });
  beforeEach(() => fake.clear());

  const settle = async (): Promise<void> => {
    for (const h of [a, b]) if (!stopped.has(h)) await h.bot.slack?.idle();
  };
  const stopped = new Set<BotHarness>();
  const requestCount = async () => (await b.bot.store.selectFrom("requests").select("id").execute()).length;
  const homesOf = (calls: readonly SlackCall[], user: string) =>
    calls.filter((c) => c.method === "views.publish" && c.args.user_id === user);

  test("a signed request accepted by one instance and replayed to the other is refused 401", async () => {
    const first = await toA.command(SLACK_USERS.alice, 'query shop staging "once, on a" SELECT 1');
    assert.equal(first.status, 200);
    await settle();
    const created = await requestCount();
    const auditBefore = (await listAudit(b.bot.store)).length;
    fake.clear();

    const replay = await toB.sendRaw(first.sent.body, first.sent.headers);
    assert.equal(replay.status, 401);
    await settle();
    assert.equal(await requestCount(), created, "the replay created nothing");
    const added = (await listAudit(b.bot.store)).slice(auditBefore);
    assert.deepEqual(
      added.map((e) => [e.action, e.details.why]),
      [["auth.failed", "replayed request"]],
    );
    assert.deepEqual(fake.calls, [], "nothing was sent to Slack");
  });

  test("a Home tab opened through one instance is redrawn after a change made through the other", async () => {
    const opened = await toA.homeOpened(SLACK_USERS.bob);
    assert.equal(opened.status, 200);
    await fake.waitFor("bob's tab drawn", (calls) => homesOf(calls, SLACK_USERS.bob).length > 0);
    await settle();
    // Instance A is gone: only the store can tell B that bob follows his tab.
    await a.stop();
    stopped.add(a);
    fake.clear();

    const alice = await b.tokenFor("alice");
    const res = await b.call(alice, "POST", "/api/requests", {
      database: "shop",
      environment: "production",
      sql: "SELECT id FROM orders WHERE id = 42",
      reason: "asked on the other instance",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const id = (res.body as { id: number }).id;
    await fake.waitFor("bob's tab redrawn with the new request", (calls) =>
      homesOf(calls, SLACK_USERS.bob).some((c) => textOf(c).includes(`Request #${id}`)),
    );
    await settle();
    assert.deepEqual(homesOf(fake.calls, SLACK_USERS.dave), [], "dave never opened his tab: no call for it");
  });
});
