/**
 * Run again (issue 13): a finished request offers its requester a button that opens the query
 * form prefilled with it; the submitted form is a new request, linked to the original, that goes
 * through its workflow again. Asserted on what reached the fake Slack and on the API.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { SLACK_IDS } from "../../bot/src/slack/ids.ts";
import type { RequestView } from "@dbward/shared";
import { input, type ViewValues } from "./slack-requests.ts";
import {
  accessoryValues,
  APPROVALS_CHANNEL,
  SLACK_USERS,
  buttonsOf,
  startSlackHarness,
  textOf,
  type SlackHarness,
} from "./slack-harness.ts";

interface Modal {
  callback_id: string;
  private_metadata?: string;
  title: { text: string };
  blocks: {
    type: string;
    element?: { action_id: string; initial_value?: string; initial_option?: { value: string } };
  }[];
}

const SQL = "SELECT id, status FROM orders WHERE id = 7";

describe("Run again in Slack", () => {
  let s: SlackHarness;
  before(async () => {
    s = await startSlackHarness();
  });
  after(async () => s.stop());
  beforeEach(() => s.fake.clear());

  const ids = SLACK_IDS.inputs;
  const element = (m: Modal, actionId: string) =>
    m.blocks.find((b) => b.element?.action_id === actionId)?.element;
  const dmsTo = (slackUser: string) =>
    s.fake.of("chat.postMessage").filter((c) => c.args.channel === `D${slackUser}`);

  async function view(id: number): Promise<RequestView> {
    return (await s.h.call(await s.h.tokenFor("olga"), "GET", `/api/requests/${id}`)).body as RequestView;
  }

  /** A production read by Alice, rejected by Bob: finished, so it can be run again. */
  async function rejectedRead(): Promise<number> {
    const id = await s.ask(SLACK_USERS.alice, `query shop production "count the orders" ${SQL}`);
    const res = await s.h.call(await s.h.tokenFor("bob"), "POST", `/api/requests/${id}/reject`, {
      reason: "add a LIMIT",
    });
    assert.equal(res.status, 200);
    await s.settle();
    return id;
  }

  function form(sql: string, reason: string): ViewValues {
    return {
      [ids.database.block]: { [SLACK_IDS.actions.queryDatabase]: input.select("shop") },
      [`${ids.environment.block}-shop`]: { [ids.environment.action]: input.select("production") },
      [ids.sql.block]: { [ids.sql.action]: input.text(sql) },
      [ids.reason.block]: { [ids.reason.action]: input.text(reason) },
    };
  }

  test("a finished request's notice offers Run again; the form opens prefilled and creates a linked request that needs approval again", async () => {
    const original = await rejectedRead();
    const notice = dmsTo(SLACK_USERS.alice).find((c) => /was rejected/.test(textOf(c)));
    assert.ok(buttonsOf(notice).includes(SLACK_IDS.actions.runAgain), "the rejection DM offers Run again");

    s.fake.clear();
    await s.slack.click(
      SLACK_USERS.alice,
      SLACK_IDS.actions.runAgain,
      String(original),
      `D${SLACK_USERS.alice}`,
    );
    await s.settle();
    const modal = s.fake.of("views.open")[0]?.args.view as Modal | undefined;
    assert.ok(modal !== undefined, "the query form opened");
    assert.equal(modal.callback_id, SLACK_IDS.views.query);
    assert.equal(modal.title.text, `Run #${original} again`);
    assert.deepEqual(JSON.parse(modal.private_metadata ?? "{}"), { rerunOf: original });
    assert.equal(element(modal, SLACK_IDS.actions.queryDatabase)?.initial_option?.value, "shop");
    assert.equal(element(modal, ids.environment.action)?.initial_option?.value, "production");
    assert.equal(element(modal, ids.sql.action)?.initial_value, SQL);
    assert.equal(element(modal, ids.reason.action)?.initial_value, "count the orders");

    s.fake.clear();
    const edited = `${SQL} LIMIT 1`;
    const res = await s.slack.submitView(
      SLACK_USERS.alice,
      SLACK_IDS.views.query,
      form(edited, "count the orders, with a LIMIT"),
      modal.private_metadata,
    );
    assert.equal(res.status, 200);
    await s.settle();
    const created = /Request #(\d+) created/.exec(textOf(dmsTo(SLACK_USERS.alice)[0]))?.[1];
    assert.ok(created !== undefined, textOf(dmsTo(SLACK_USERS.alice)[0]));
    const again = await view(Number(created));
    assert.notEqual(again.id, original);
    assert.equal(again.status, "pending_approval", "it waits for approval like any other request");
    assert.equal(again.rerun_of, original);
    assert.equal(again.sql, edited);
    assert.equal((await view(original)).status, "rejected", "the original is untouched");
    const post = s.fake.of("chat.postMessage").find((c) => c.args.channel === APPROVALS_CHANNEL);
    assert.match(textOf(post), new RegExp(`Run again of #${original}`));
    const createdEvent = (await s.audit()).find(
      (e) => e.action === "request.created" && e.target === `request:${again.id}`,
    );
    assert.equal(createdEvent?.details.rerun_of, original);
  });

  test("the Home tab offers Run again beside its owner's finished requests only", async () => {
    const finished = await rejectedRead();
    const pending = await s.ask(SLACK_USERS.alice, `query shop production "still waiting" ${SQL}`);
    await s.slack.homeOpened(SLACK_USERS.alice);
    await s.settle();
    const home = s.fake
      .of("views.publish")
      .filter((c) => c.args.user_id === SLACK_USERS.alice)
      .at(-1);
    const again = accessoryValues(home, SLACK_IDS.actions.runAgain);
    assert.ok(again.includes(String(finished)));
    assert.ok(!again.includes(String(pending)));
  });

  test("someone else clicking Run again is refused and nothing opens", async () => {
    const original = await rejectedRead();
    s.fake.clear();
    await s.slack.click(SLACK_USERS.olga, SLACK_IDS.actions.runAgain, String(original));
    await s.settle();
    assert.equal(s.fake.of("views.open").length, 0);
    assert.match(textOf(s.fake.of("response_url")[0]), /only its requester \(alice\)/i);
  });

  test("Run again on a request still waiting is refused with what to do", async () => {
    const pending = await s.ask(SLACK_USERS.alice, `query shop production "not yet" ${SQL}`);
    s.fake.clear();
    await s.slack.clickInHome(SLACK_USERS.alice, SLACK_IDS.actions.runAgain, String(pending));
    await s.settle();
    assert.equal(s.fake.of("views.open").length, 0);
    assert.match(textOf(dmsTo(SLACK_USERS.alice)[0]), /not finished/);
  });

  test("a forged form naming someone else's request is refused and creates nothing", async () => {
    const daves = await s.ask(SLACK_USERS.dave, `query shop production "dave's" ${SQL}`);
    await s.h.call(await s.h.tokenFor("dave"), "POST", `/api/requests/${daves}/cancel`, { reason: "no" });
    await s.settle();
    s.fake.clear();
    await s.slack.submitView(
      SLACK_USERS.alice,
      SLACK_IDS.views.query,
      form(SQL, "piggyback"),
      JSON.stringify({ rerunOf: daves }),
    );
    await s.settle();
    assert.match(textOf(dmsTo(SLACK_USERS.alice)[0]), /there is no request #/i);
    assert.ok(!dmsTo(SLACK_USERS.alice).some((c) => /created/.test(textOf(c))));
  });
});
