/**
 * Slack re-delivers what it thinks was not acknowledged: an Events API callback comes again with
 * `X-Slack-Retry-Num` and a fresh signature; a command's or a click's envelope may come twice.
 * Each changes state once, whichever instance or connection it reaches (the identities are in the
 * store).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { SLACK_USERS, startSlackHarness, type SlackHarness } from "./slack-harness.ts";
import { HOME_OPENED } from "./slack-requests.ts";

describe("a Slack delivery that arrives again", () => {
  let s: SlackHarness;
  before(async () => {
    s = await startSlackHarness();
  });
  after(async () => s.stop());

  test("an event retried with a new signature is acked and handled once", async () => {
    s.fake.clear();
    const base = HOME_OPENED as { event: Record<string, unknown> };
    const event = {
      ...HOME_OPENED,
      event_id: "Ev0RETRIED01",
      event: { ...base.event, user: SLACK_USERS.alice, channel: `D${SLACK_USERS.alice}`, tab: "home" },
    };
    const now = Math.floor(Date.now() / 1000);
    const first = await s.slack.sendJson(event, { timestamp: now });
    const retry = await s.slack.sendJson(event, { timestamp: now + 1 });
    assert.equal(first.status, 200);
    assert.equal(retry.status, 200, "the retry is acked, so Slack stops retrying");
    await s.settle();
    assert.equal(s.fake.of("views.publish").length, 1, "the Home tab drawn once");
  });

  test("a command delivered twice creates one request", async () => {
    s.fake.clear();
    const body = s.slack.commandBody(SLACK_USERS.alice, `query shop production "twice" SELECT 42`);
    const now = Math.floor(Date.now() / 1000);
    await s.slack.send(body, { timestamp: now });
    await s.slack.send(body, { timestamp: now + 1 });
    await s.settle();
    const answers = s.fake.of("response_url").filter((c) => JSON.stringify(c.args).includes("created"));
    assert.equal(answers.length, 1);
  });
});
