/**
 * The Home tab: drawn when its owner opens it (`app_home_opened`, a signed Events API callback),
 * showing what waits for their decision with the approval post's buttons and their own latest
 * requests, and redrawn after changes while they follow it. Asserted on what reached the fake
 * Slack's `views.publish`.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { SLACK_IDS } from "../../bot/src/slack/ids.ts";
import type { RequestView } from "@dbward/shared";
import type { SlackCall } from "../support/fake-slack.ts";
import { SLACK_USERS, startSlackHarness, textOf, type SlackHarness } from "./slack-harness.ts";

const THREE_BUTTONS = [SLACK_IDS.actions.review, SLACK_IDS.actions.approve, SLACK_IDS.actions.reject];
const NOBODY = "U0NOBODY01";

interface HomeBlock {
  type: string;
  elements?: { type: string; action_id?: string; value?: string }[];
}

describe("the Home tab", () => {
  let s: SlackHarness;
  before(async () => {
    s = await startSlackHarness();
  });
  after(async () => s.stop());
  beforeEach(() => s.fake.clear());

  const ask = (user: string, text: string): Promise<number> => s.ask(user, text);

  const askProdRead = (reason: string): Promise<number> =>
    ask(SLACK_USERS.alice, `query shop production "${reason}" SELECT id, status FROM orders WHERE id = 7`);

  const homesOf = (slackUser: string): SlackCall[] =>
    s.fake.of("views.publish").filter((c) => c.args.user_id === slackUser);

  /** Opens the tab and answers the view Slack was given. */
  async function open(slackUser: string): Promise<SlackCall> {
    const res = await s.slack.homeOpened(slackUser);
    assert.equal(res.status, 200, res.text);
    await s.settle();
    const home = homesOf(slackUser).at(-1);
    assert.ok(home !== undefined, `a Home tab was drawn for ${slackUser}`);
    return home;
  }

  const blocksOf = (call: SlackCall): HomeBlock[] =>
    ((call.args.view as { blocks?: HomeBlock[] } | undefined)?.blocks ?? []) as HomeBlock[];
  /** [action_id, value] of every button in the view. */
  const buttonsOf = (call: SlackCall): [string, string][] =>
    blocksOf(call)
      .filter((b) => b.type === "actions")
      .flatMap((b) => b.elements ?? [])
      .map((e) => [e.action_id ?? "", e.value ?? ""]);

  async function view(id: number): Promise<RequestView> {
    return (await s.h.call(await s.h.tokenFor("olga"), "GET", `/api/requests/${id}`)).body as RequestView;
  }

  test("an approver's tab shows what waits for them, with the approval post's three buttons", async () => {
    const id = await askProdRead("check order 7 for support");
    const home = await open(SLACK_USERS.bob);
    assert.equal((home.args.view as { type: string }).type, "home");
    assert.equal((home.args.view as { callback_id: string }).callback_id, SLACK_IDS.views.home);
    const text = textOf(home);
    for (const part of [
      "Waiting for your decision",
      `Request #${id}`,
      `<@${SLACK_USERS.alice}>`,
      "`shop` / `production`",
      "check order 7 for support",
      "SELECT id, status FROM orders WHERE id = 7",
      "Your latest requests*: none yet",
    ]) {
      assert.ok(text.includes(part), `${part} in:\n${text}`);
    }
    const mine = buttonsOf(home).filter(([, value]) => value === String(id));
    assert.deepEqual(
      mine.map(([action]) => action),
      THREE_BUTTONS,
    );
  });

  test("a requester's tab lists their requests and follows them; a Home click decides like any other", async () => {
    const id = await askProdRead("follow me on the Home tab");
    const aliceBefore = textOf(await open(SLACK_USERS.alice));
    assert.ok(aliceBefore.includes(`*#${id}* :hourglass_flowing_sand: Waiting for approval`), aliceBefore);
    assert.deepEqual(buttonsOf(await open(SLACK_USERS.alice)), [], "a requester cannot decide their own");
    await open(SLACK_USERS.carol);
    s.fake.clear();

    const res = await s.slack.clickInHome(SLACK_USERS.bob, SLACK_IDS.actions.approve, String(id));
    assert.equal(res.status, 200);
    await s.settle();
    assert.ok(["approved", "dispatched"].includes((await view(id)).status));

    const alice = textOf(homesOf(SLACK_USERS.alice).at(-1));
    assert.ok(alice.includes(`*#${id}*`) && !alice.includes(`*#${id}* :hourglass`), alice);
    assert.match(alice, new RegExp(`\\*#${id}\\* :(white_check_mark|outbox_tray): Approved`));
    const carol = homesOf(SLACK_USERS.carol).at(-1);
    assert.ok(carol !== undefined, "carol's tab showed the request, so it is redrawn");
    assert.ok(!buttonsOf(carol).some(([, value]) => value === String(id)), "no buttons once decided");
    assert.deepEqual(homesOf(SLACK_USERS.dave), [], "dave never opened his tab: no Slack calls for it");
  });

  test("Reject on the Home tab opens the same reject form as the approval post", async () => {
    const id = await askProdRead("reject me from Home");
    await s.slack.clickInHome(SLACK_USERS.carol, SLACK_IDS.actions.reject, String(id));
    await s.settle();
    const modal = s.fake.of("views.open").at(-1);
    assert.equal(
      (modal?.args.view as { callback_id?: string } | undefined)?.callback_id,
      SLACK_IDS.views.reject,
    );
    assert.equal((await view(id)).status, "pending_approval", "opening the form decides nothing");
  });

  test("a click on a stale Home tab by someone who may not decide is refused and changes nothing", async () => {
    const id = await askProdRead("sam may not approve this");
    const res = await s.slack.clickInHome(SLACK_USERS.sam, SLACK_IDS.actions.approve, String(id));
    assert.equal(res.status, 200);
    await s.settle();
    assert.equal((await view(id)).status, "pending_approval");
    const told = s.fake.of("chat.postMessage").filter((c) => c.args.channel === `D${SLACK_USERS.sam}`);
    assert.ok(told.length > 0, "the refusal reaches sam by DM: a Home click has no response_url");
  });

  test("opening the Messages tab draws nothing", async () => {
    const res = await s.slack.homeOpened(SLACK_USERS.bob, "messages");
    assert.equal(res.status, 200);
    await s.settle();
    assert.deepEqual(homesOf(SLACK_USERS.bob), []);
  });

  test("an unknown person sees how to join; nothing else", async () => {
    const text = textOf(await open(NOBODY));
    assert.match(text, /not linked/);
    assert.match(text, /\/dbward join/);
    assert.doesNotMatch(text, /Request #/);
  });

  test("a suspended person sees only that, and drawing their tab is not a login attempt", async () => {
    await askProdRead("a request sam will not see");
    await ask(SLACK_USERS.sam, 'query shop production "sam asks" SELECT 1');
    const root = await s.h.tokenFor("root");
    const suspended = await s.h.call(root, "POST", "/api/users/sam/suspend", { reason: "left the team" });
    assert.equal(suspended.status, 200, JSON.stringify(suspended.body));
    const before = (await s.audit()).length;
    const text = textOf(await open(SLACK_USERS.sam));
    assert.match(text, /suspended/);
    assert.doesNotMatch(text, /Request #|#\d+/);
    assert.equal((await s.audit()).length, before);
  });

  test("a forged app_home_opened is refused and draws nothing", async () => {
    const res = await s.slack.homeOpened(SLACK_USERS.bob, "home", {
      headers: { "x-slack-signature": `v0=${"0".repeat(64)}`, "x-slack-request-timestamp": "1700000000" },
    });
    assert.equal(res.status, 401);
    await s.settle();
    assert.deepEqual(s.fake.of("views.publish"), []);
  });

  test("Slack's URL verification handshake is answered with its challenge", async () => {
    const res = await s.slack.sendJson({ token: "x", challenge: "c-123-xyz", type: "url_verification" });
    assert.equal(res.status, 200);
    assert.match(res.text, /c-123-xyz/);
  });

  test("many waiting requests: the tab stays within Slack's 100 blocks and says more wait", async () => {
    for (let i = 0; i < 10; i++) await askProdRead(`bulk request ${i}`);
    const home = await open(SLACK_USERS.dave);
    assert.ok(blocksOf(home).length <= 100);
    const text = textOf(home);
    assert.match(text, /More requests wait for you/);
    assert.equal(new Set(buttonsOf(home).map(([, value]) => value)).size, 8);
  });
});
