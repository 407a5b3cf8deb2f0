/**
 * The durable Slack outbox attacked through the whole bot and a fake Slack: who can make it write
 * rows (only verified Slack requests and committed changes), where a stored `response_url` may
 * be sent (Slack's hosts only), and whether one person Slack cannot reach costs the others their
 * messages.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, describe, test } from "node:test";
import type { RequestView } from "@dbward/shared";
import { SLACK_USERS, startSlackHarness, type SlackHarness } from "./slack-harness.ts";
import { SlackRequests } from "./slack-requests.ts";

describe("the Slack outbox under attack", () => {
  let s: SlackHarness;
  /** A server that is not Slack: nothing may ever be sent to it. */
  let elsewhere: Server;
  let elsewhereUrl = "";
  let elsewhereHits = 0;

  before(async () => {
    s = await startSlackHarness();
    elsewhere = createServer((req, res) => {
      elsewhereHits += 1;
      req.resume();
      res.end("ok");
    });
    await new Promise<void>((r) => elsewhere.listen(0, "127.0.0.1", r));
    elsewhereUrl = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}`;
  });
  after(async () => {
    await s.stop();
    await new Promise((r) => elsewhere.close(r));
  });
  beforeEach(() => {
    s.fake.clear();
    elsewhereHits = 0;
  });

  const outboxRows = () => s.h.bot.store.selectFrom("slack_outbox").selectAll().execute();

  test("an unsigned interaction writes nothing to the outbox and sends nothing", async () => {
    const before = (await outboxRows()).length;
    const res = await s.slack.send(s.slack.clickBody(SLACK_USERS.bob, "dbward.request.approve_v0", "42"), {
      headers: {},
    });
    assert.equal(res.status, 401);
    assert.equal((await outboxRows()).length, before);
    await s.settle();
    assert.deepEqual(s.fake.of("response_url"), []);
  });

  test("a badly signed command with a response_url elsewhere is refused before any row is written", async () => {
    const forger = new SlackRequests(
      `${s.h.url}/slack/events`,
      { responseUrl: () => `${elsewhereUrl}/x` },
      "not-the-secret",
    );
    const before = (await outboxRows()).length;
    const res = await forger.command(SLACK_USERS.alice, "help");
    assert.equal(res.status, 401);
    await s.settle();
    assert.equal((await outboxRows()).length, before);
    assert.equal(elsewhereHits, 0);
  });

  test("a stored response_url that is not Slack's is never fetched: the answer fails alone", async () => {
    const pointedElsewhere = new SlackRequests(`${s.h.url}/slack/events`, {
      responseUrl: () => `${elsewhereUrl}/actions/T1/1/x`,
    });
    const res = await pointedElsewhere.click(SLACK_USERS.bob, "dbward.request.approve_v0", "42");
    assert.equal(res.status, 200);
    await s.settle();
    assert.equal(elsewhereHits, 0, "the bot POSTed an answer to a host that is not Slack");
    const failed = (await outboxRows()).filter((r) => r.status === "failed" && r.lane.startsWith("stale:"));
    assert.equal(failed.length, 1);
    assert.match(failed[0]?.last_error ?? "", /untrusted_url/);
    // The next answer, through a real Slack response_url, is not held up by the failed one.
    await s.slack.click(SLACK_USERS.bob, "dbward.request.approve_v0", "43");
    await s.settle();
    assert.equal(s.fake.of("response_url").length, 1);
  });

  test("an approver Slack cannot reach does not stop the DMs to the other approvers", async () => {
    // Bob's account is gone from Slack; Carol and Dave can still decide.
    s.fake.failNext("conversations.open", "user_not_found", 1);
    const res = await s.h.call(await s.h.tokenFor("alice"), "POST", "/api/requests", {
      database: "shop",
      environment: "staging",
      sql: "UPDATE orders SET status = 'x' WHERE id = 1",
      reason: "one approver unreachable",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal((res.body as RequestView).status, "pending_approval");
    await s.settle();
    const opened = s.fake.of("conversations.open").map((c) => String(c.args.users));
    const dmsTo = s.fake
      .of("chat.postMessage")
      .map((c) => String(c.args.channel))
      .filter((ch) => ch.startsWith("D"));
    const approvers = [SLACK_USERS.bob, SLACK_USERS.carol, SLACK_USERS.dave];
    const reached = approvers.filter((u) => dmsTo.includes(`D${u}`));
    assert.equal(
      reached.length,
      2,
      `only ${JSON.stringify(reached)} got a DM with the buttons (conversations.open for ${JSON.stringify(opened)})`,
    );
  });
});
