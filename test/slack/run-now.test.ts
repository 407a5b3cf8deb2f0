/**
 * Run now in Slack (`run: by_requester`): the approval DM and the Home tab offer the requester —
 * and only the requester — a Run now button; a click runs the request once, the thread says so,
 * and a second click or someone else's is refused privately without changing anything.
 * Asserted on what reached the fake Slack and on the API.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import type { RequestView } from "@dbward/shared";
import { SLACK_IDS } from "../../bot/src/slack/ids.ts";
import {
  accessoryValues,
  APPROVALS_CHANNEL,
  SLACK_TEST_CONFIG,
  SLACK_USERS,
  buttonsOf,
  startSlackHarness,
  textOf,
  type SlackHarness,
} from "./slack-harness.ts";

const CONFIG = SLACK_TEST_CONFIG.replace(
  "    operations: [read]\n    steps:",
  "    operations: [read]\n    run: by_requester\n    run_within: 4h\n    steps:",
);
const SQL = "SELECT id, status FROM orders WHERE id = 11";

describe("Run now in Slack", () => {
  let s: SlackHarness;
  before(async () => {
    assert.notEqual(CONFIG, SLACK_TEST_CONFIG, "the prod-reads workflow runs by its requester");
    s = await startSlackHarness(CONFIG);
  });
  after(async () => s.stop());
  beforeEach(() => s.fake.clear());

  const dmsTo = (slackUser: string) =>
    s.fake.of("chat.postMessage").filter((c) => c.args.channel === `D${slackUser}`);
  const view = async (id: number): Promise<RequestView> =>
    (await s.h.call(await s.h.tokenFor("olga"), "GET", `/api/requests/${id}`)).body as RequestView;

  /** A production read by Alice, approved by Bob: it now waits for Alice. */
  async function approvedRead(reason: string): Promise<number> {
    const id = await s.ask(SLACK_USERS.alice, `query shop production "${reason}" ${SQL}`);
    await s.slack.click(SLACK_USERS.bob, SLACK_IDS.actions.approve, String(id));
    await s.settle();
    assert.equal((await view(id)).status, "approved");
    return id;
  }

  test("the approval DM offers its requester Run now; a click dispatches it once and the thread says so", async () => {
    const id = await approvedRead("run me later");
    const notice = dmsTo(SLACK_USERS.alice).find((c) => /was approved/.test(textOf(c)));
    assert.ok(notice !== undefined, "Alice heard of the approval");
    assert.match(textOf(notice), /waits for you/);
    assert.ok(buttonsOf(notice).includes(SLACK_IDS.actions.runNow), "the DM offers Run now");
    const approverSide = s.fake
      .of("chat.postMessage")
      .filter((c) => c.args.channel !== `D${SLACK_USERS.alice}`);
    assert.ok(
      approverSide.every((c) => !buttonsOf(c).includes(SLACK_IDS.actions.runNow)),
      "nobody else is offered Run now",
    );

    s.fake.clear();
    await s.slack.click(SLACK_USERS.alice, SLACK_IDS.actions.runNow, String(id), `D${SLACK_USERS.alice}`);
    await s.settle();
    assert.equal((await view(id)).status, "dispatched");
    assert.match(textOf(s.fake.of("response_url")[0]), /on its way to an agent/);
    const thread = s.fake
      .of("chat.postMessage")
      .filter((c) => c.args.channel === APPROVALS_CHANNEL && c.args.thread_ts !== undefined);
    assert.ok(
      thread.some((c) =>
        new RegExp(`<@${SLACK_USERS.alice}> asked to run it: it is on its way`).test(textOf(c)),
      ),
      "the thread tells the approvers who ran it",
    );

    s.fake.clear();
    await s.slack.click(SLACK_USERS.alice, SLACK_IDS.actions.runNow, String(id), `D${SLACK_USERS.alice}`);
    await s.settle();
    assert.match(textOf(s.fake.of("response_url")[0]), /already been asked to run/);
    const runs = (await s.audit()).filter(
      (e) => e.action === "request.run_requested" && e.target === `request:${id}`,
    );
    assert.equal(runs.length, 1, "it ran once");
  });

  test("someone else's Run now is refused privately and the request keeps waiting", async () => {
    const id = await approvedRead("not yours");
    s.fake.clear();
    await s.slack.click(SLACK_USERS.bob, SLACK_IDS.actions.runNow, String(id));
    await s.settle();
    assert.match(textOf(s.fake.of("response_url")[0]), /only its requester/i);
    assert.equal((await view(id)).status, "approved");
    const refused = (await s.audit()).filter(
      (e) => e.action === "request.run_refused" && e.target === `request:${id}`,
    );
    assert.equal(refused.length, 1);
    assert.equal(refused[0]?.actor, "user:bob");
  });

  test("the Home tab offers Run now beside its owner's waiting request, and the click runs it", async () => {
    const id = await approvedRead("from home");
    await s.slack.homeOpened(SLACK_USERS.alice);
    await s.settle();
    const home = s.fake
      .of("views.publish")
      .filter((c) => c.args.user_id === SLACK_USERS.alice)
      .at(-1);
    assert.ok(accessoryValues(home, SLACK_IDS.actions.runNow).includes(String(id)), textOf(home));
    assert.match(textOf(home), /Waits for you to run it/);
    await s.slack.clickInHome(SLACK_USERS.alice, SLACK_IDS.actions.runNow, String(id));
    await s.settle();
    assert.equal((await view(id)).status, "dispatched");
  });
});
