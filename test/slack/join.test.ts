/** `/dbward join`: a person not yet known asks to join; an admin approves or rejects in Slack. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { SLACK_IDS } from "../../bot/src/slack/ids.ts";
import { input, type ViewValues } from "./slack-requests.ts";
import {
  SLACK_TEST_CONFIG,
  SLACK_USERS,
  buttonsOf,
  startSlackHarness,
  textOf,
  type SlackHarness,
} from "./slack-harness.ts";

const ADA = "U0ADA0001";
const NEWBIE = "U0NEWBIE1";
const OTHER = "U0OTHER01";
const HOMEBODY = "U0HOME001";

const CONFIG =
  SLACK_TEST_CONFIG.replace(
    "  - { id: root, name: Root, roles: [admin] }",
    `  - { id: root, name: Root, roles: [admin] }\n  - { id: ada, name: Ada, slack_user_id: ${ADA}, roles: [admin] }`,
  ) + "join_requests:\n  allowed_roles: [requester, approver]\n";

const ids = SLACK_IDS.inputs;

function form(name: string, role: string | null, reason: string | null, groups = ""): ViewValues {
  return {
    [ids.joinName.block]: { [ids.joinName.action]: input.text(name) },
    [ids.joinEmail.block]: { [ids.joinEmail.action]: input.text(null) },
    [ids.joinRole.block]: { [ids.joinRole.action]: input.select(role) },
    [ids.joinGroups.block]: { [ids.joinGroups.action]: input.text(groups) },
    [ids.joinReason.block]: { [ids.joinReason.action]: input.text(reason) },
  };
}

describe("/dbward join", () => {
  let s: SlackHarness;
  before(async () => {
    s = await startSlackHarness(CONFIG);
  });
  after(async () => s.stop());

  const dmsTo = (user: string) => s.fake.of("chat.postMessage").filter((c) => c.args.channel === `D${user}`);
  const joinRow = (user: string) =>
    s.h.bot.store
      .selectFrom("join_requests")
      .selectAll()
      .where("slack_user_id", "=", user)
      .executeTakeFirst();

  async function askToJoin(user: string, name: string): Promise<string> {
    s.fake.clear();
    const res = await s.slack.submitView(
      user,
      SLACK_IDS.views.join,
      form(name, "requester", "on call", "payments"),
    );
    assert.equal(res.status, 200);
    await s.settle();
    const row = await joinRow(user);
    assert.ok(row !== undefined, "the join request exists");
    return row.id;
  }

  test("an unknown person gets the join form with the allowed roles", async () => {
    s.fake.clear();
    await s.slack.command(NEWBIE, "join");
    await s.settle();
    const open = s.fake.of("views.open");
    assert.equal(open.length, 1);
    const view = open[0]?.args.view as {
      callback_id: string;
      blocks: { block_id?: string; element?: { options?: { value: string }[] } }[];
    };
    assert.equal(view.callback_id, SLACK_IDS.views.join);
    const roles = view.blocks.find((b) => b.block_id === ids.joinRole.block)?.element?.options;
    assert.deepEqual(
      roles?.map((o) => o.value),
      ["requester", "approver"],
    );
  });

  test("an unlinked person running another command is told about /dbward join", async () => {
    s.fake.clear();
    await s.slack.command(NEWBIE, "list");
    await s.settle();
    assert.match(textOf(s.fake.of("response_url")[0]), /\/dbward join/);
  });

  test("a known user is told they already are one, and no form opens", async () => {
    s.fake.clear();
    await s.slack.command(SLACK_USERS.alice, "join");
    await s.settle();
    assert.equal(s.fake.of("views.open").length, 0);
    assert.match(textOf(s.fake.of("response_url")[0]), /already are dbward user `alice`/);
  });

  test("a form without a reason is sent back with the field marked", async () => {
    const res = await s.slack.submitView(NEWBIE, SLACK_IDS.views.join, form("Newbie", "requester", null));
    assert.deepEqual(JSON.parse(res.text), {
      response_action: "errors",
      errors: { [ids.joinReason.block]: "Say why you need access." },
    });
  });

  test("submitting creates the join request, tells the person, and sends admins Approve/Reject", async () => {
    const id = await askToJoin(NEWBIE, "Newbie");
    const row = await joinRow(NEWBIE);
    assert.equal(row?.status, "pending");
    assert.equal(row?.requested_role, "requester");
    assert.equal(row?.display_name, "Newbie");
    assert.deepEqual(JSON.parse(row?.groups_json ?? "[]"), ["payments"]);
    assert.match(textOf(dmsTo(NEWBIE)[0]), /asked to join dbward as requester/);
    const review = dmsTo(ADA);
    assert.equal(review.length, 1, "the admin with a Slack id gets the post");
    assert.match(textOf(review[0]), /Newbie[\s\S]*on call/);
    assert.deepEqual(buttonsOf(review[0]), [SLACK_IDS.actions.joinApprove, SLACK_IDS.actions.joinReject]);
    const values = (review[0]?.args.blocks as { type: string; elements?: { value?: string }[] }[])
      .filter((b) => b.type === "actions")
      .flatMap((b) => b.elements ?? [])
      .map((e) => e.value);
    assert.deepEqual(values, [id, id]);
    const audit = await s.audit();
    assert.ok(audit.some((e) => e.action === "join.requested" && e.target === `join:${id}`));
  });

  test("a non-admin clicking Approve is refused privately and nothing changes", async () => {
    const row = await joinRow(NEWBIE);
    assert.ok(row !== undefined);
    s.fake.clear();
    await s.slack.click(SLACK_USERS.bob, SLACK_IDS.actions.joinApprove, row.id, `D${SLACK_USERS.bob}`);
    await s.settle();
    const replies = s.fake.of("response_url");
    assert.equal(replies.length, 1);
    assert.equal(replies[0]?.args.response_type, "ephemeral");
    assert.match(textOf(replies[0]), /admin/);
    assert.equal((await joinRow(NEWBIE))?.status, "pending");
    assert.equal(dmsTo(NEWBIE).length, 0, "the person is not told anything");
  });

  test("an admin approving creates the user and tells the person by DM", async () => {
    const row = await joinRow(NEWBIE);
    assert.ok(row !== undefined);
    s.fake.clear();
    await s.slack.click(ADA, SLACK_IDS.actions.joinApprove, row.id, `D${ADA}`);
    await s.settle();
    const after = await joinRow(NEWBIE);
    assert.equal(after?.status, "approved");
    const user = await s.h.bot.store
      .selectFrom("users")
      .selectAll()
      .where("slack_user_id", "=", NEWBIE)
      .executeTakeFirst();
    assert.ok(user !== undefined, "the user exists");
    assert.deepEqual(JSON.parse(user.roles), ["requester"]);
    assert.match(textOf(s.fake.of("response_url")[0]), /You approved Newbie's join request/);
    assert.match(textOf(dmsTo(NEWBIE)[0]), /approved: you are user `.+` \(requester\)/);
    const audit = await s.audit();
    assert.ok(audit.some((e) => e.action === "join.approved" && e.actor === "user:ada"));
  });

  test("a second click on a decided request is refused and nobody is told twice", async () => {
    const row = await joinRow(NEWBIE);
    assert.ok(row !== undefined);
    s.fake.clear();
    await s.slack.click(ADA, SLACK_IDS.actions.joinReject, row.id, `D${ADA}`);
    await s.settle();
    assert.equal(s.fake.of("response_url").length, 1);
    assert.equal(dmsTo(NEWBIE).length, 0);
    assert.equal((await joinRow(NEWBIE))?.status, "approved");
  });

  test("an admin rejecting tells the person by DM", async () => {
    const id = await askToJoin(OTHER, "Other");
    s.fake.clear();
    await s.slack.click(ADA, SLACK_IDS.actions.joinReject, id, `D${ADA}`);
    await s.settle();
    assert.equal((await joinRow(OTHER))?.status, "rejected");
    assert.match(textOf(s.fake.of("response_url")[0]), /You rejected Other's join request/);
    assert.match(textOf(dmsTo(OTHER)[0]), /was rejected/);
    const users = await s.h.bot.store
      .selectFrom("users")
      .select("id")
      .where("slack_user_id", "=", OTHER)
      .execute();
    assert.equal(users.length, 0);
  });

  test("an admin's Home tab lists join requests with Approve and Reject, and follows them", async () => {
    const homes = (user: string) => s.fake.of("views.publish").filter((c) => c.args.user_id === user);
    const joinButtons = (call: (typeof s.fake.calls)[number] | undefined) =>
      (
        (
          call?.args.view as {
            blocks?: { type: string; elements?: { action_id?: string; value?: string }[] }[];
          }
        )?.blocks ?? []
      )
        .filter((b) => b.type === "actions")
        .flatMap((b) => b.elements ?? [])
        .filter((e) => e.action_id?.startsWith("dbward.join.") === true)
        .map((e) => [e.action_id, e.value]);
    await s.slack.homeOpened(ADA);
    await s.slack.homeOpened(SLACK_USERS.bob);
    await s.settle();
    assert.doesNotMatch(textOf(homes(SLACK_USERS.bob).at(-1)), /Join requests/, "not for non-admins");

    const id = await askToJoin(HOMEBODY, "Homebody");
    const drawn = homes(ADA).at(-1);
    assert.ok(drawn !== undefined, "the admin's tab was redrawn when the request arrived");
    assert.match(textOf(drawn), /Homebody \(<@U0HOME001>\) asks to be \*requester\* in payments: on call/);
    assert.deepEqual(joinButtons(drawn), [
      [SLACK_IDS.actions.joinApprove, id],
      [SLACK_IDS.actions.joinReject, id],
    ]);
    assert.deepEqual(homes(SLACK_USERS.bob), [], "nothing redrawn for a non-admin");

    s.fake.clear();
    await s.slack.clickInHome(ADA, SLACK_IDS.actions.joinApprove, id);
    await s.settle();
    assert.equal((await joinRow(HOMEBODY))?.status, "approved");
    assert.match(textOf(dmsTo(HOMEBODY)[0]), /was approved/);
    assert.deepEqual(
      joinButtons(homes(ADA).at(-1)).filter(([, value]) => value === id),
      [],
      "decided: its buttons are gone",
    );
  });
});
