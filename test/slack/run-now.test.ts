/**
 * Run now in Slack (`run: by_requester`): the approval DM and the Home tab offer the requester —
 * and only the requester — a Run now button; a click runs the request once, the thread says so,
 * and a second click or someone else's is refused privately without changing anything. The
 * Review modal takes an approver's "not before".
 * Asserted on what reached the fake Slack and on the API.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import type { RequestView } from "@dbward/shared";
import { SLACK_IDS } from "../../bot/src/slack/ids.ts";
import { input } from "./slack-requests.ts";
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

  test("the Review modal takes a Not before: approved, held until then; a past time comes back onto the form", async () => {
    const id = await s.ask(
      SLACK_USERS.alice,
      `query shop production "tonight" UPDATE orders SET status = 'n' WHERE id = 21`,
    );
    await s.slack.click(SLACK_USERS.bob, SLACK_IDS.actions.review, String(id));
    await s.settle();
    const modal = s.fake.of("views.open").at(-1)?.args.view as {
      private_metadata: string;
      blocks: unknown[];
    };
    assert.ok(JSON.stringify(modal.blocks).includes('"datetimepicker"'), "the modal offers a time");
    const values = (seconds: number) => ({
      [SLACK_IDS.inputs.decision.block]: {
        [SLACK_IDS.inputs.decision.action]: input.radio(SLACK_IDS.decisions.approve),
      },
      [SLACK_IDS.inputs.notBefore.block]: { [SLACK_IDS.inputs.notBefore.action]: input.dateTime(seconds) },
      [SLACK_IDS.inputs.comment.block]: { [SLACK_IDS.inputs.comment.action]: input.text(null) },
    });
    const nowS = Math.floor(Date.now() / 1000);
    const past = await s.slack.submitView(
      SLACK_USERS.bob,
      SLACK_IDS.views.review,
      values(nowS - 3600),
      modal.private_metadata,
    );
    const answer = JSON.parse(past.text) as { response_action: string; errors: Record<string, string> };
    assert.equal(answer.response_action, "errors");
    assert.match(answer.errors[SLACK_IDS.inputs.notBefore.block] ?? "", /future/);
    await s.settle();
    assert.deepEqual((await view(id)).approvals, [], "nothing recorded");

    const at = nowS + 3600;
    await s.slack.submitView(SLACK_USERS.bob, SLACK_IDS.views.review, values(at), modal.private_metadata);
    await s.settle();
    const held = await view(id);
    assert.equal(held.status, "approved", "approved, and held for its window");
    assert.equal(held.run_schedule.not_before, new Date(at * 1000).toISOString());
  });
});
