/** `/dbward admin`: the user list, adding, editing, suspending and activating, and the refusals. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { SLACK_IDS } from "../../bot/src/slack/ids.ts";
import type { SlackCall } from "../support/fake-slack.ts";
import { type ViewValues } from "./slack-requests.ts";
import {
  SLACK_TEST_CONFIG,
  SLACK_USERS,
  startSlackHarness,
  textOf,
  type SlackHarness,
} from "./slack-harness.ts";

const ADA = "U0ADA0001";
const NEW_PERSON = "U0NEWPER1";
const ROOT_VIEW = "V0ADMINROOT";

const CONFIG = SLACK_TEST_CONFIG.replace(
  "  - { id: root, name: Root, roles: [admin] }",
  `  - { id: root, name: Root, roles: [admin] }\n  - { id: ada, name: Ada, slack_user_id: ${ADA}, roles: [admin] }`,
);

const ids = SLACK_IDS.inputs;
const multi = (values: string[]) => ({
  type: "multi_static_select",
  selected_options: values.map((v) => ({ text: { type: "plain_text", text: v }, value: v })),
});
const text = (value: string | null) => ({ type: "plain_text_input", value });

function addForm(
  slackUser: string | null,
  roles: string[],
  groups = "",
  name: string | null = null,
): ViewValues {
  return {
    [ids.adminSlackUser.block]: {
      [ids.adminSlackUser.action]: { type: "users_select", selected_user: slackUser },
    },
    [ids.adminName.block]: { [ids.adminName.action]: text(name) },
    [ids.adminRoles.block]: { [ids.adminRoles.action]: multi(roles) },
    [ids.adminGroups.block]: { [ids.adminGroups.action]: text(groups) },
  };
}

function editForm(roles: string[], groups: string): ViewValues {
  return {
    [ids.adminRoles.block]: { [ids.adminRoles.action]: multi(roles) },
    [ids.adminGroups.block]: { [ids.adminGroups.action]: text(groups) },
  };
}

describe("/dbward admin", () => {
  let s: SlackHarness;
  before(async () => {
    s = await startSlackHarness(CONFIG);
    // The fake Slack has no users.info; answer it like Slack does for a picked user.
    const fake = s.fake as unknown as {
      answer: (method: string, args: Record<string, unknown>) => Record<string, unknown>;
    };
    const answer = fake.answer.bind(s.fake);
    fake.answer = (method, args) =>
      method === "users.info" && args.user === NEW_PERSON
        ? {
            ok: true,
            user: {
              id: NEW_PERSON,
              name: "nora",
              profile: { real_name: "Nora New", email: "nora@example.com" },
            },
          }
        : answer(method, args);
  });
  after(async () => s.stop());

  const rootView = { id: ROOT_VIEW, callback_id: SLACK_IDS.views.admin };
  const lastUpdate = (): SlackCall | undefined => s.fake.of("views.update").at(-1);
  const user = (id: string) =>
    s.h.bot.store.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();

  async function clickInList(who: string, actionId: string, value: string): Promise<void> {
    s.fake.clear();
    await s.slack.clickInView(who, actionId, value, rootView);
    await s.settle();
  }

  async function submit(who: string, callbackId: string, values: ViewValues, meta: object): Promise<string> {
    s.fake.clear();
    const res = await s.slack.submitView(who, callbackId, values, JSON.stringify(meta));
    await s.settle();
    return res.text;
  }

  test("a non-admin is refused privately, and the refusal is audited", async () => {
    s.fake.clear();
    await s.slack.command(SLACK_USERS.bob, "admin");
    await s.settle();
    assert.equal(s.fake.of("views.open").length, 0);
    const replies = s.fake.of("response_url");
    assert.equal(replies.length, 1);
    assert.equal(replies[0]?.args.response_type, "ephemeral");
    assert.match(textOf(replies[0]), /is for admins; your roles \(approver\) do not allow user\.manage/);
    const audit = await s.audit();
    assert.ok(
      audit.some(
        (e) => e.actor === "user:bob" && e.action === "user.admin_refused" && e.outcome === "denied",
      ),
    );
  });

  test("an admin gets the list of users with role and status, and the buttons", async () => {
    s.fake.clear();
    await s.slack.command(ADA, "admin");
    await s.settle();
    const open = s.fake.of("views.open");
    assert.equal(open.length, 1);
    assert.equal((open[0]?.args.view as { callback_id: string }).callback_id, SLACK_IDS.views.admin);
    const shown = textOf(open[0]);
    assert.match(shown, /\*Alice\* `alice`[\s\S]*requester · active/);
    assert.match(shown, /\*Bob\* `bob`[\s\S]*approver · active/);
    const json = JSON.stringify(open[0]?.args.view);
    for (const action of [
      SLACK_IDS.actions.adminAdd,
      SLACK_IDS.actions.adminEdit,
      SLACK_IDS.actions.adminSuspend,
    ])
      assert.ok(json.includes(action), action);
  });

  test("Add a user opens the form with a user picker on top of the list", async () => {
    await clickInList(ADA, SLACK_IDS.actions.adminAdd, "add");
    const pushed = s.fake.of("views.push");
    assert.equal(pushed.length, 1);
    const view = pushed[0]?.args.view as { callback_id: string; private_metadata: string };
    assert.equal(view.callback_id, SLACK_IDS.views.adminAdd);
    assert.deepEqual(JSON.parse(view.private_metadata), { root: ROOT_VIEW });
    assert.match(JSON.stringify(view), /"type":"users_select"/);
  });

  test("adding takes the name and email from users.info, audits it, and confirms in the list", async () => {
    const ack = await submit(ADA, SLACK_IDS.views.adminAdd, addForm(NEW_PERSON, ["requester"], "payments"), {
      root: ROOT_VIEW,
    });
    assert.equal(ack, "", "the form closes");
    assert.equal(s.fake.of("users.info")[0]?.args.user, NEW_PERSON);
    const row = await s.h.bot.store
      .selectFrom("users")
      .selectAll()
      .where("slack_user_id", "=", NEW_PERSON)
      .executeTakeFirst();
    assert.equal(row?.display_name, "Nora New");
    assert.equal(row?.email, "nora@example.com");
    assert.deepEqual(JSON.parse(row?.roles ?? "[]"), ["requester"]);
    assert.deepEqual(JSON.parse(row?.groups_json ?? "[]"), ["payments"]);
    const update = lastUpdate();
    assert.equal(update?.args.view_id, ROOT_VIEW);
    assert.match(textOf(update), new RegExp(`Added \\*Nora New\\* as \`${row?.id}\``));
    const audit = await s.audit();
    assert.ok(
      audit.some(
        (e) => e.actor === "user:ada" && e.action === "user.created" && e.target === `user:${row?.id}`,
      ),
    );
  });

  test("adding without a pick or a role is sent back with the fields marked", async () => {
    const ack = await submit(ADA, SLACK_IDS.views.adminAdd, addForm(null, []), { root: ROOT_VIEW });
    assert.deepEqual(JSON.parse(ack), {
      response_action: "errors",
      errors: {
        [ids.adminSlackUser.block]: "Pick the person to add.",
        [ids.adminRoles.block]: "Give at least one role.",
      },
    });
  });

  test("adding someone already linked is refused, and the list says why", async () => {
    await submit(
      ADA,
      SLACK_IDS.views.adminAdd,
      addForm(SLACK_USERS.alice, ["requester"], "", "Alice Again"),
      {
        root: ROOT_VIEW,
      },
    );
    assert.match(textOf(lastUpdate()), /:no_entry:/);
    assert.doesNotMatch(textOf(lastUpdate()), /Added/);
  });

  test("Edit opens the form; saving changes roles and groups and confirms", async () => {
    const row = await s.h.bot.store
      .selectFrom("users")
      .selectAll()
      .where("slack_user_id", "=", NEW_PERSON)
      .executeTakeFirstOrThrow();
    await clickInList(ADA, SLACK_IDS.actions.adminEdit, row.id);
    const pushed = s.fake.of("views.push")[0]?.args.view as { callback_id: string; private_metadata: string };
    assert.equal(pushed.callback_id, SLACK_IDS.views.adminEdit);
    assert.deepEqual(JSON.parse(pushed.private_metadata), { root: ROOT_VIEW, userId: row.id });
    await submit(ADA, SLACK_IDS.views.adminEdit, editForm(["requester", "approver"], "payments, support"), {
      root: ROOT_VIEW,
      userId: row.id,
    });
    const changed = await user(row.id);
    assert.deepEqual(JSON.parse(changed?.roles ?? "[]"), ["approver", "requester"]);
    assert.deepEqual(JSON.parse(changed?.groups_json ?? "[]"), ["payments", "support"]);
    assert.match(textOf(lastUpdate()), new RegExp(`Saved \`${row.id}\`: roles approver, requester`));
  });

  test("editing a user the config file owns is refused, and the list says why", async () => {
    await submit(ADA, SLACK_IDS.views.adminEdit, editForm(["admin"], ""), {
      root: ROOT_VIEW,
      userId: "alice",
    });
    assert.match(textOf(lastUpdate()), /:no_entry:.*config/i);
    assert.deepEqual(JSON.parse((await user("alice"))?.roles ?? "[]"), ["requester"]);
  });

  test("suspend and activate change the status and confirm in the list", async () => {
    await clickInList(ADA, SLACK_IDS.actions.adminSuspend, "sam");
    assert.equal((await user("sam"))?.status, "suspended");
    assert.equal(lastUpdate()?.args.view_id, ROOT_VIEW);
    assert.match(textOf(lastUpdate()), /Suspended `sam`/);
    assert.match(textOf(lastUpdate()), /\*Sam\* `sam`[\s\S]*\*suspended\*/);
    await clickInList(ADA, SLACK_IDS.actions.adminActivate, "sam");
    assert.equal((await user("sam"))?.status, "active");
    assert.match(textOf(lastUpdate()), /Activated `sam`/);
    const actions = (await s.audit())
      .filter((e) => e.target === "user:sam" && e.actor === "user:ada")
      .map((e) => e.action);
    assert.deepEqual(actions.slice(-2), ["user.suspended", "user.activated"]);
  });

  test("suspending a user who is not there says so, and points at the user list, not a request number", async () => {
    await clickInList(ADA, SLACK_IDS.actions.adminSuspend, "nobody");
    const shown = textOf(lastUpdate());
    assert.match(shown, /There is no user nobody\./);
    assert.match(shown, /`\/dbward admin`/);
    assert.doesNotMatch(shown, /Check the number/);
  });

  test("a non-admin's click in the list is refused, explained, and changes nothing", async () => {
    await clickInList(SLACK_USERS.bob, SLACK_IDS.actions.adminSuspend, "alice");
    assert.equal((await user("alice"))?.status, "active");
    assert.match(textOf(lastUpdate()), /:no_entry:.*admin/);
    const audit = await s.audit();
    assert.ok(audit.some((e) => e.actor === "user:bob" && e.action === "user.suspend_refused"));
  });
});
