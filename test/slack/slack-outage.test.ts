/**
 * Slack calls happen after the commit, so Slack failing (rate limits, the app not in the channel)
 * never loses or blocks an approval: the decision is stored at once, and the messages follow
 * when Slack recovers, through retries with backoff.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { SLACK_IDS } from "../../bot/src/slack/ids.ts";
import type { RequestView } from "@dbward/shared";
import {
  APPROVALS_CHANNEL,
  SLACK_USERS,
  buttonsOf,
  startSlackHarness,
  type SlackHarness,
} from "./slack-harness.ts";

describe("Slack failing", () => {
  let s: SlackHarness;
  before(async () => {
    s = await startSlackHarness();
  });
  after(async () => s.stop());
  beforeEach(() => s.fake.clear());

  async function status(id: number): Promise<string> {
    return ((await s.h.call(await s.h.tokenFor("olga"), "GET", `/api/requests/${id}`)).body as RequestView)
      .status;
  }

  async function createByApi(id: string): Promise<number> {
    const res = await s.h.call(await s.h.tokenFor("alice"), "POST", "/api/requests", {
      database: "shop",
      environment: "staging",
      sql: `UPDATE orders SET status = 'x' WHERE id = ${id}`,
      reason: "outage test",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return (res.body as RequestView).id;
  }

  test("a rate-limited channel post is retried until it goes through", async () => {
    s.fake.failNext("chat.postMessage", "ratelimited", 2);
    const id = await createByApi("1");
    await s.settle();
    const posts = s.fake.of("chat.postMessage").filter((c) => c.args.channel === APPROVALS_CHANNEL);
    assert.equal(posts.length, 3, "two refused by the rate limit, then posted");
    assert.deepEqual(buttonsOf(posts[2]), [
      SLACK_IDS.actions.review,
      SLACK_IDS.actions.approve,
      SLACK_IDS.actions.reject,
    ]);
    assert.equal(await status(id), "pending_approval");
  });

  test("an approval lands while Slack refuses every update, and the redraw follows once Slack is back", async () => {
    const id = await createByApi("2");
    await s.settle();
    s.fake.clear();
    s.fake.failNext("chat.update", "not_in_channel", 100);
    s.fake.failNext("chat.postMessage", "ratelimited", 100);
    const res = await s.slack.click(SLACK_USERS.bob, SLACK_IDS.actions.approve, String(id));
    assert.equal(res.status, 200);
    assert.equal(await status(id), "dispatched", "the approval is stored whatever Slack does");
    await s.settle();
    assert.ok(s.fake.of("chat.update").length >= 4, "updates were retried");
    s.fake.failNext("chat.update", "not_in_channel", 0);
    s.fake.failNext("chat.postMessage", "ratelimited", 0);
    s.fake.clear();
    // The next change redraws from stored state, so the message catches up.
    await s.h.call(await s.h.tokenFor("alice"), "POST", `/api/requests/${id}/cancel`, {
      reason: "done by hand",
    });
    await s.settle();
    const update = s.fake.of("chat.update").find((c) => c.args.channel === APPROVALS_CHANNEL);
    assert.ok(update !== undefined);
    assert.deepEqual(buttonsOf(update), []);
  });

  test("a channel post Slack refused for good is made at the request's next change", async () => {
    s.fake.failNext("chat.postMessage", "channel_not_found", 1);
    const id = await createByApi("4");
    await s.settle();
    const channelPosts = () =>
      s.fake
        .of("chat.postMessage")
        .filter((c) => c.args.channel === APPROVALS_CHANNEL && c.args.thread_ts === undefined);
    assert.equal(channelPosts().length, 1, "tried once: channel_not_found does not clear by waiting");
    assert.equal(s.fake.of("chat.update").length, 0, "there is no post to update");
    s.fake.clear();
    const res = await s.h.call(await s.h.tokenFor("bob"), "POST", `/api/requests/${id}/approve`, {});
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await s.settle();
    assert.equal(channelPosts().length, 1, "the approval brought the missing post");
    assert.match(JSON.stringify(channelPosts()[0]?.args), /Approved/);
  });

  test("a network failure of the Web API does not fail the click or the approval", async () => {
    const id = await createByApi("3");
    await s.settle();
    await s.fake.close();
    try {
      const res = await s.slack.click(SLACK_USERS.carol, SLACK_IDS.actions.approve, String(id));
      assert.equal(res.status, 200);
      await s.settle();
      assert.equal(await status(id), "dispatched");
    } finally {
      await s.fake.reopen();
    }
  });
});
