/**
 * The approval post and its buttons: who gets what, who may click what, and how the channel
 * message and its thread follow the stored state. Refusals change nothing and are audited.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { SLACK_IDS } from "../../bot/src/slack/ids.ts";
import type { RequestView } from "@dbward/shared";
import type { SlackCall } from "../support/fake-slack.ts";
import { input } from "./slack-requests.ts";
import {
  APPROVALS_CHANNEL,
  SLACK_USERS,
  buttonsOf,
  startSlackHarness,
  textOf,
  type SlackHarness,
} from "./slack-harness.ts";

const THREE_BUTTONS = [SLACK_IDS.actions.review, SLACK_IDS.actions.approve, SLACK_IDS.actions.reject];

describe("approving in Slack", () => {
  let s: SlackHarness;
  before(async () => {
    s = await startSlackHarness();
  });
  after(async () => s.stop());
  beforeEach(() => s.fake.clear());

  const ask = (user: string, text: string): Promise<number> => s.ask(user, text);

  async function view(id: number): Promise<RequestView> {
    return (await s.h.call(await s.h.tokenFor("olga"), "GET", `/api/requests/${id}`)).body as RequestView;
  }

  const channelPosts = (): SlackCall[] =>
    s.fake
      .of("chat.postMessage")
      .filter((c) => c.args.channel === APPROVALS_CHANNEL && c.args.thread_ts === undefined);
  const dmsTo = (slackUser: string): SlackCall[] =>
    s.fake.of("chat.postMessage").filter((c) => c.args.channel === `D${slackUser}`);

  async function deniedSince(seq: number): Promise<string[][]> {
    return (await s.audit()).filter((e) => e.seq > seq).map((e) => [e.actor, e.action, e.outcome]);
  }

  test("a query by a linked requester posts the approval message with three buttons and DMs the approvers", async () => {
    const id = await ask(
      SLACK_USERS.alice,
      "query shop production \"refund order 7\" UPDATE orders SET status = 'refunded' WHERE id = 7",
    );
    const [post] = channelPosts();
    assert.ok(post !== undefined, "posted to the approvals channel");
    assert.equal(post.token, "xoxb-1111-2222-fake");
    assert.deepEqual(buttonsOf(post), THREE_BUTTONS);
    const text = textOf(post);
    for (const part of [
      `Request #${id}`,
      `<@${SLACK_USERS.alice}>`,
      "`shop` / `production`",
      "`write`",
      "refund order 7",
    ]) {
      assert.ok(text.includes(part), part);
    }
    for (const approver of [SLACK_USERS.bob, SLACK_USERS.carol, SLACK_USERS.dave])
      assert.ok(text.includes(`<@${approver}>`));
    assert.ok(!text.includes("UPDATE orders"), "production SQL stays out of the channel by default");
    for (const approver of [SLACK_USERS.bob, SLACK_USERS.carol, SLACK_USERS.dave]) {
      const [dm] = dmsTo(approver);
      assert.ok(dm !== undefined, `DM to ${approver}`);
      assert.deepEqual(buttonsOf(dm), THREE_BUTTONS);
      assert.ok(
        textOf(dm).includes("UPDATE orders SET status = 'refunded' WHERE id = 7"),
        "approvers get the SQL",
      );
    }
    assert.equal(dmsTo(SLACK_USERS.alice).length, 0, "the requester is not asked to approve");
    assert.equal(dmsTo(SLACK_USERS.olga).length, 0, "an operator is not an approver here");
  });

  test("the SQL appears in the channel where the environment allows it", async () => {
    await ask(SLACK_USERS.alice, "query shop staging \"fix\" UPDATE orders SET status = 'x' WHERE id = 8");
    assert.ok(textOf(channelPosts()[0]).includes("UPDATE orders SET status = 'x' WHERE id = 8"));
  });

  test("approving redraws the channel message without buttons and tells the story in its thread", async () => {
    const id = await ask(
      SLACK_USERS.alice,
      "query shop staging \"fix\" UPDATE orders SET status = 'y' WHERE id = 9",
    );
    const post = channelPosts()[0];
    s.fake.clear();
    const res = await s.slack.click(SLACK_USERS.bob, SLACK_IDS.actions.approve, String(id));
    assert.equal(res.status, 200);
    await s.settle();
    assert.equal((await view(id)).status, "dispatched");
    const update = s.fake
      .of("chat.update")
      .find((c) => c.args.ts === post?.args.ts || c.args.channel === APPROVALS_CHANNEL);
    assert.ok(update !== undefined, "channel message redrawn");
    assert.deepEqual(buttonsOf(update), []);
    assert.match(textOf(update), /Approved by <@U0BOB0001>/);
    const reply = s.fake
      .of("chat.postMessage")
      .find((c) => c.args.channel === APPROVALS_CHANNEL && c.args.thread_ts !== undefined);
    assert.match(textOf(reply), /<@U0BOB0001> approved\. All approvals are in/);
    assert.match(
      textOf(dmsTo(SLACK_USERS.alice)[0]),
      new RegExp(`Your request #${id} .* was approved by <@U0BOB0001>`),
    );
    assert.equal(s.fake.of("response_url").length, 0, "no refusal");
  });

  test("the requester cannot approve their own request: refused privately, unchanged, audited", async () => {
    const id = await ask(
      SLACK_USERS.dave,
      "query shop staging \"mine\" UPDATE orders SET status = 'z' WHERE id = 10",
    );
    const seq = (await s.audit()).at(-1)?.seq ?? 0;
    s.fake.clear();
    await s.slack.click(SLACK_USERS.dave, SLACK_IDS.actions.approve, String(id));
    await s.settle();
    assert.equal((await view(id)).status, "pending_approval");
    assert.match(textOf(s.fake.of("response_url")[0]), /cannot approve or reject your own request/);
    assert.equal(s.fake.of("response_url")[0]?.args.response_type, "ephemeral");
    assert.deepEqual(await deniedSince(seq), [["user:dave", "request.approve_refused", "denied"]]);
    assert.equal(s.fake.of("chat.update").length, 0, "nothing to redraw");
  });

  test("someone who is not an approver cannot approve: refused privately, unchanged, audited", async () => {
    const id = await ask(
      SLACK_USERS.alice,
      "query shop staging \"x\" UPDATE orders SET status = 'w' WHERE id = 11",
    );
    const seq = (await s.audit()).at(-1)?.seq ?? 0;
    s.fake.clear();
    await s.slack.click(SLACK_USERS.olga, SLACK_IDS.actions.approve, String(id));
    await s.settle();
    assert.equal((await view(id)).status, "pending_approval");
    assert.match(textOf(s.fake.of("response_url")[0]), /needs 1 of role:approver/);
    assert.deepEqual(await deniedSince(seq), [["user:olga", "request.approve_refused", "denied"]]);
  });

  test("a double click approves once; the second click is refused and audited", async () => {
    const id = await ask(
      SLACK_USERS.alice,
      "query shop staging \"x\" UPDATE orders SET status = 'v' WHERE id = 12",
    );
    const seq = (await s.audit()).at(-1)?.seq ?? 0;
    s.fake.clear();
    const clicks = await Promise.all([
      s.slack.click(SLACK_USERS.carol, SLACK_IDS.actions.approve, String(id)),
      s.slack.click(SLACK_USERS.carol, SLACK_IDS.actions.approve, String(id)),
    ]);
    assert.deepEqual(
      clicks.map((c) => c.status),
      [200, 200],
    );
    await s.settle();
    const r = await view(id);
    assert.equal(r.status, "dispatched");
    assert.equal(r.approvals.length, 1);
    const events = (await s.audit()).filter((e) => e.seq > seq);
    assert.equal(events.filter((e) => e.action === "request.approval_recorded").length, 1);
    assert.equal(events.filter((e) => e.action === "request.approve_refused").length, 1);
    assert.equal(s.fake.of("response_url").length, 1, "one private refusal");
  });

  test("rejecting needs a reason: a blank one is sent back onto the form, a real one rejects", async () => {
    const id = await ask(
      SLACK_USERS.alice,
      "query shop staging \"x\" UPDATE orders SET status = 'u' WHERE id = 13",
    );
    s.fake.clear();
    await s.slack.click(SLACK_USERS.bob, SLACK_IDS.actions.reject, String(id), APPROVALS_CHANNEL);
    await s.settle();
    const opened = s.fake.of("views.open")[0];
    const view0 = opened?.args.view as { callback_id: string; private_metadata: string };
    assert.equal(view0.callback_id, SLACK_IDS.views.reject);
    const values = (reason: string | null) => ({
      [SLACK_IDS.inputs.comment.block]: { [SLACK_IDS.inputs.comment.action]: input.text(reason) },
    });
    const blank = await s.slack.submitView(
      SLACK_USERS.bob,
      SLACK_IDS.views.reject,
      values("   "),
      view0.private_metadata,
    );
    assert.equal(blank.status, 200);
    assert.deepEqual(JSON.parse(blank.text), {
      response_action: "errors",
      errors: { [SLACK_IDS.inputs.comment.block]: "A rejection needs a reason: say what should change." },
    });
    await s.settle();
    assert.equal((await view(id)).status, "pending_approval");
    const ok = await s.slack.submitView(
      SLACK_USERS.bob,
      SLACK_IDS.views.reject,
      values("add a LIMIT"),
      view0.private_metadata,
    );
    assert.equal(ok.text, "");
    await s.settle();
    const r = await view(id);
    assert.equal(r.status, "rejected");
    assert.equal(r.status_reason, "add a LIMIT");
    assert.match(
      textOf(s.fake.of("chat.update").find((c) => c.args.channel === APPROVALS_CHANNEL)),
      /Rejected by <@U0BOB0001>: add a LIMIT/,
    );
    assert.match(textOf(dmsTo(SLACK_USERS.alice)[0]), /was rejected by <@U0BOB0001>: add a LIMIT/);
    assert.match(textOf(s.fake.of("chat.postEphemeral")[0]), new RegExp(`You rejected request #${id}`));
  });

  test("the Review modal shows the full SQL and can approve", async () => {
    const sql = `SELECT ${Array.from({ length: 400 }, (_, i) => `c${i}`).join(", ")} FROM orders`;
    const id = await ask(SLACK_USERS.alice, `query shop production "wide" ${sql}`);
    s.fake.clear();
    await s.slack.click(SLACK_USERS.carol, SLACK_IDS.actions.review, String(id));
    await s.settle();
    const opened = s.fake.of("views.open")[0];
    const modal = opened?.args.view as { callback_id: string; private_metadata: string };
    assert.equal(modal.callback_id, SLACK_IDS.views.review);
    assert.equal(textOf(opened).replace(/\n/g, "").includes(sql), true, "the whole SQL is in the modal");
    const values = {
      [SLACK_IDS.inputs.decision.block]: {
        [SLACK_IDS.inputs.decision.action]: input.radio(SLACK_IDS.decisions.approve),
      },
      [SLACK_IDS.inputs.comment.block]: { [SLACK_IDS.inputs.comment.action]: input.text(null) },
    };
    await s.slack.submitView(SLACK_USERS.carol, SLACK_IDS.views.review, values, modal.private_metadata);
    await s.settle();
    assert.equal((await view(id)).status, "dispatched");
  });

  test("choosing Reject in the Review modal without a comment is sent back", async () => {
    const id = await ask(
      SLACK_USERS.alice,
      "query shop staging \"x\" UPDATE orders SET status = 't' WHERE id = 14",
    );
    const values = {
      [SLACK_IDS.inputs.decision.block]: {
        [SLACK_IDS.inputs.decision.action]: input.radio(SLACK_IDS.decisions.reject),
      },
      [SLACK_IDS.inputs.comment.block]: { [SLACK_IDS.inputs.comment.action]: input.text(null) },
    };
    const res = await s.slack.submitView(
      SLACK_USERS.bob,
      SLACK_IDS.views.review,
      values,
      JSON.stringify({ requestId: id }),
    );
    assert.equal((JSON.parse(res.text) as { response_action: string }).response_action, "errors");
    await s.settle();
    assert.equal((await view(id)).status, "pending_approval");
  });

  test("a break-glass request, which skips approval, is announced in the channel with its reason", async () => {
    const res = await s.h.call(await s.h.tokenFor("dave"), "POST", "/api/requests", {
      database: "shop",
      environment: "production",
      sql: "UPDATE orders SET status = 'open' WHERE id = 15",
      reason: "checkout is down",
      break_glass: true,
      break_glass_reason: "incident 42: orders stuck in checkout",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    await s.settle();
    const [post] = channelPosts();
    assert.match(textOf(post), /:rotating_light: \*Break-glass\*: <@U0DAVE001> skipped approval/);
    assert.match(textOf(post), /incident 42: orders stuck in checkout/);
    assert.deepEqual(buttonsOf(post), [], "nothing to approve");
  });
});
