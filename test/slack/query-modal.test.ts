/** The query form: opened when `/dbward query` lacks something, filled in, and submitted. */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { SLACK_IDS } from "../../bot/src/slack/ids.ts";
import type { RequestView } from "@dbward/shared";
import { input, type ViewValues } from "./slack-requests.ts";
import { SLACK_USERS, startSlackHarness, textOf, type SlackHarness } from "./slack-harness.ts";

interface Modal {
  callback_id: string;
  blocks: {
    type: string;
    block_id?: string;
    element?: {
      action_id: string;
      options?: { value: string }[];
      initial_value?: string;
      initial_option?: { value: string };
    };
  }[];
}

describe("the query form", () => {
  let s: SlackHarness;
  before(async () => {
    s = await startSlackHarness();
  });
  after(async () => s.stop());
  beforeEach(() => s.fake.clear());

  const element = (m: Modal, actionId: string) =>
    m.blocks.find((b) => b.element?.action_id === actionId)?.element;
  const ids = SLACK_IDS.inputs;

  function form(sql: string, reason: string | null, environment: string | null = "production"): ViewValues {
    return {
      [ids.database.block]: { [SLACK_IDS.actions.queryDatabase]: input.select("shop") },
      [`${ids.environment.block}-shop`]: { [ids.environment.action]: input.select(environment) },
      [ids.sql.block]: { [ids.sql.action]: input.text(sql) },
      [ids.reason.block]: { [ids.reason.action]: input.text(reason) },
    };
  }

  test("opens with only the databases a workflow lets the user request when nothing was given", async () => {
    await s.slack.command(SLACK_USERS.alice, "query");
    await s.settle();
    const opened = s.fake.of("views.open")[0];
    assert.ok(typeof opened?.args.trigger_id === "string" && opened.args.trigger_id !== "");
    const modal = opened.args.view as Modal;
    assert.equal(modal.callback_id, SLACK_IDS.views.query);
    assert.deepEqual(
      element(modal, SLACK_IDS.actions.queryDatabase)?.options?.map((o) => o.value),
      ["shop"],
    );
    assert.equal(s.fake.of("response_url").length, 0);
  });

  test("opens with what the one-line form had, undoing Slack's formatting of the SQL", async () => {
    await s.slack.command(
      SLACK_USERS.alice,
      "query shop ```sql\nSELECT * FROM t WHERE a &lt; 3 AND e = '<mailto:x@y.io|x@y.io>'\n```",
    );
    await s.settle();
    const modal = s.fake.of("views.open")[0]?.args.view as Modal;
    assert.equal(element(modal, SLACK_IDS.actions.queryDatabase)?.initial_option?.value, "shop");
    assert.equal(
      element(modal, ids.sql.action)?.initial_value,
      "SELECT * FROM t WHERE a < 3 AND e = 'x@y.io'",
    );
  });

  test("choosing a database offers that database's environments", async () => {
    await s.slack.selectDatabase(SLACK_USERS.alice, "shop", form("SELECT 1", null, null));
    await s.settle();
    const update = s.fake.of("views.update")[0];
    assert.equal(update?.args.view_id, "V0QUERY01");
    assert.equal(update?.args.hash, "1700000002.abcdef12");
    const modal = update?.args.view as Modal;
    assert.deepEqual(
      element(modal, ids.environment.action)?.options?.map((o) => o.value),
      ["production", "staging"],
    );
    assert.equal(element(modal, ids.sql.action)?.initial_value, "SELECT 1", "what was typed is kept");
  });

  test("a submitted form creates the request and shows the requester exactly what will run", async () => {
    const res = await s.slack.submitView(
      SLACK_USERS.alice,
      SLACK_IDS.views.query,
      form("```\nSELECT id FROM orders WHERE note = \u2018late\u2019\n```", "  customer asked  "),
    );
    assert.equal(res.status, 200);
    assert.equal(res.text, "");
    await s.settle();
    const dm = s.fake.of("chat.postMessage").find((c) => c.args.channel === `D${SLACK_USERS.alice}`);
    const text = textOf(dm);
    const id = /Request #(\d+) created/.exec(text)?.[1];
    assert.ok(id !== undefined, text);
    assert.ok(text.includes("SELECT id FROM orders WHERE note = 'late'"));
    const r = (await s.h.call(await s.h.tokenFor("alice"), "GET", `/api/requests/${id}`)).body as RequestView;
    assert.equal(r.sql, "SELECT id FROM orders WHERE note = 'late'");
    assert.equal(r.reason, "customer asked");
    assert.equal(r.environment, "production");
    assert.ok(
      s.fake.of("chat.postMessage").some((c) => c.args.channel === "C0APPROVALS"),
      "approval posted",
    );
  });

  test("a form without a reason is sent back with the field marked", async () => {
    const res = await s.slack.submitView(SLACK_USERS.alice, SLACK_IDS.views.query, form("SELECT 1", null));
    assert.deepEqual(JSON.parse(res.text), {
      response_action: "errors",
      errors: { [ids.reason.block]: "Say why this needs to run." },
    });
  });

  test("a refused request comes back by DM with the SQL, so nothing typed is lost", async () => {
    await s.slack.submitView(SLACK_USERS.alice, SLACK_IDS.views.query, form("SELECT 1", "x", "nowhere"));
    await s.settle();
    const dms = s.fake.of("chat.postMessage").filter((c) => c.args.channel === `D${SLACK_USERS.alice}`);
    assert.match(textOf(dms[0]), /has no environment nowhere/);
    assert.ok(textOf(dms[1]).includes("SELECT 1"));
  });
});
