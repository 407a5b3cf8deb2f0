/**
 * Signed Slack traffic that no listener handles, or that cannot be read, is answered at once:
 * an unknown button, view submission or shortcut is acked and the person is told what to do; a
 * malformed payload gets 400 `request.invalid`; an unknown event is acked and ignored.
 *
 * The bot under test waits 30 s before Bolt's unhandled-request handler fires, and every test
 * here has a timeout well below that: an answer that arrives at all came from the immediate path.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { FakeSlack, FAKE_SIGNING_SECRET } from "../support/fake-slack.ts";
import { startBotHarness } from "../support/bot-harness.ts";
import { signSlackRequest } from "../support/slack-signer.ts";
import { SLACK_TEST_CONFIG, SLACK_USERS, textOf } from "./slack-harness.ts";
import { BUTTON_CLICK, SlackRequests, VIEW_SUBMISSION, type SlackResponse } from "./slack-requests.ts";

const FAST = { timeout: 10_000 };

describe("Slack requests no listener handles", () => {
  let fake: FakeSlack;
  let h: Awaited<ReturnType<typeof startBotHarness>>;
  let slack: SlackRequests;
  before(async () => {
    fake = await FakeSlack.start();
    h = await startBotHarness(SLACK_TEST_CONFIG, {
      slack: { env: fake.env(), options: { unhandledRequestTimeoutMillis: 30_000 } },
    });
    slack = new SlackRequests(`${h.url}/slack/events`, fake);
  });
  after(async () => {
    await h.stop();
    await fake.close();
  });
  beforeEach(() => fake.clear());

  const settle = async (): Promise<void> => h.bot.slack?.idle();
  // Each click of a real person has its own trigger_id; the same one again is a re-delivery.
  let clicks = 0;
  const form = (value: object): string =>
    new URLSearchParams({
      payload: JSON.stringify(
        "trigger_id" in value ? { ...value, trigger_id: `9${(clicks += 1)}.1.fresh` } : value,
      ),
    }).toString();
  const signedForm = (body: string): Promise<SlackResponse> => slack.send(body);
  const signedJson = (body: string): Promise<SlackResponse> =>
    slack.sendRaw(body, {
      "content-type": "application/json",
      ...signSlackRequest(FAKE_SIGNING_SECRET, body),
    });

  function assertInvalid(res: SlackResponse): void {
    assert.equal(res.status, 400, res.text);
    assert.equal((JSON.parse(res.text) as { error: { code: string } }).error.code, "request.invalid");
  }

  test("acks a button it no longer knows and tells the clicker how to see the request", FAST, async () => {
    const res = await slack.click(SLACK_USERS.bob, "dbward.request.approve_v0", "42");
    assert.equal(res.status, 200);
    await settle();
    const [reply, ...more] = fake.of("response_url");
    assert.deepEqual(more, []);
    assert.equal(reply?.args.response_type, "ephemeral");
    assert.equal(reply?.args.replace_original, false);
    assert.match(textOf(reply), /older version of dbward/);
    assert.match(textOf(reply), /`\/dbward status 42`/);
  });

  test("finds the request id in the block id when the button's value has none", FAST, async () => {
    const base = BUTTON_CLICK as { actions: Record<string, unknown>[] };
    const res = await signedForm(
      form({
        ...BUTTON_CLICK,
        response_url: fake.responseUrl(),
        actions: [{ ...base.actions[0], action_id: "dbward.renamed", block_id: "request-7", value: "yes" }],
      }),
    );
    assert.equal(res.status, 200);
    await settle();
    assert.match(textOf(fake.of("response_url")[0]), /`\/dbward status 7`/);
  });

  test("answers a button naming no request with a generic line", FAST, async () => {
    const base = BUTTON_CLICK as { actions: Record<string, unknown>[] };
    const res = await signedForm(
      form({
        ...BUTTON_CLICK,
        response_url: fake.responseUrl(),
        actions: [{ ...base.actions[0], action_id: "dbward.something.gone", block_id: "b1", value: "x" }],
      }),
    );
    assert.equal(res.status, 200);
    await settle();
    const text = textOf(fake.of("response_url")[0]);
    assert.match(text, /older version of dbward/);
    assert.match(text, /`\/dbward list`/);
    assert.doesNotMatch(text, /status \d/);
  });

  test("acks an unknown view submission by replacing the modal with an explanation", FAST, async () => {
    const base = VIEW_SUBMISSION as { view: Record<string, unknown> };
    const res = await signedForm(
      form({
        ...VIEW_SUBMISSION,
        view: {
          ...base.view,
          callback_id: "dbward.old.modal",
          private_metadata: JSON.stringify({ requestId: 12 }),
        },
      }),
    );
    assert.equal(res.status, 200);
    const answer = JSON.parse(res.text) as { response_action: string; view: unknown };
    assert.equal(answer.response_action, "update");
    assert.match(JSON.stringify(answer.view), /older version of dbward/);
    assert.match(JSON.stringify(answer.view), /\/dbward status 12/);
  });

  test("acks an unknown global shortcut and tells the person by DM", FAST, async () => {
    const res = await signedForm(
      form({
        type: "shortcut",
        callback_id: "dbward.old.shortcut",
        trigger_id: "1.2.3",
        action_ts: "1700000000.1",
        team: { id: "T0DBWARD", domain: "example" },
        user: { id: SLACK_USERS.alice, username: "alice", team_id: "T0DBWARD" },
        api_app_id: "A0DBWARD01",
        token: "x",
        is_enterprise_install: false,
        enterprise: null,
      }),
    );
    assert.equal(res.status, 200);
    await settle();
    const post = fake.of("chat.postMessage").at(-1);
    assert.equal(post?.args.channel, `D${SLACK_USERS.alice}`);
    assert.match(textOf(post), /older version of dbward/);
  });

  test("acks an unknown message shortcut and answers through its response_url", FAST, async () => {
    const res = await signedForm(
      form({
        type: "message_action",
        callback_id: "dbward.old.message_shortcut",
        trigger_id: "1.2.4",
        action_ts: "1700000000.2",
        team: { id: "T0DBWARD", domain: "example" },
        user: { id: SLACK_USERS.alice, name: "alice", team_id: "T0DBWARD" },
        channel: { id: "C0APPROVALS", name: "dbward" },
        message: { type: "message", text: "hi", ts: "1700000000.000009" },
        response_url: fake.responseUrl(),
        api_app_id: "A0DBWARD01",
        token: "x",
      }),
    );
    assert.equal(res.status, 200);
    await settle();
    assert.match(textOf(fake.of("response_url")[0]), /older version of dbward/);
  });

  test("acks an event type it does not listen to, and does nothing", FAST, async () => {
    const res = await slack.sendJson({
      type: "event_callback",
      team_id: "T0DBWARD",
      api_app_id: "A0DBWARD01",
      event: { type: "reaction_added", user: SLACK_USERS.bob, reaction: "eyes", event_ts: "1700000000.3" },
      event_id: "Ev0UNKNOWN1",
      event_time: 1700000000,
    });
    assert.equal(res.status, 200);
    await settle();
    assert.deepEqual(fake.calls, []);
  });

  test("acks a callback type Bolt does not know, and does nothing", FAST, async () => {
    const res = await slack.sendJson({
      type: "app_rate_limited",
      team_id: "T0DBWARD",
      minute_rate_limited: 1,
    });
    assert.equal(res.status, 200);
    await settle();
    assert.deepEqual(fake.calls, []);
  });

  test("refuses bad JSON in payload= with 400", FAST, async () => {
    assertInvalid(await signedForm("payload=%7Bnot%20json"));
  });

  test("refuses a deeply nested url_verification body with 400", FAST, async () => {
    const deep = "[".repeat(200_000) + "]".repeat(200_000);
    assertInvalid(await signedJson(`{"type":"url_verification","challenge":${deep}}`));
  });

  test("refuses a url_verification whose challenge is not a string with 400", FAST, async () => {
    assertInvalid(await signedJson(JSON.stringify({ type: "url_verification", challenge: { a: 1 } })));
  });

  test("still answers a well-formed url_verification with its challenge", FAST, async () => {
    const res = await signedJson(JSON.stringify({ type: "url_verification", challenge: "abc123" }));
    assert.equal(res.status, 200);
    assert.equal((JSON.parse(res.text) as { challenge: string }).challenge, "abc123");
  });

  test("refuses a deeply nested interaction payload with 400", FAST, async () => {
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    assertInvalid(await signedForm(`payload=${encodeURIComponent(`{"type":"block_actions","x":${deep}}`)}`));
  });

  test("refuses a button click without its actions with 400", FAST, async () => {
    const rest = Object.fromEntries(Object.entries(BUTTON_CLICK).filter(([k]) => k !== "actions"));
    assertInvalid(await signedForm(form(rest)));
  });

  test("refuses a button click without a user with 400", FAST, async () => {
    const rest = Object.fromEntries(Object.entries(BUTTON_CLICK).filter(([k]) => k !== "user"));
    assertInvalid(await signedForm(form(rest)));
  });

  test("refuses a view submission without its view with 400", FAST, async () => {
    const rest = Object.fromEntries(Object.entries(VIEW_SUBMISSION).filter(([k]) => k !== "view"));
    assertInvalid(await signedForm(form(rest)));
  });

  test("refuses a query modal submission without its input values with 400", FAST, async () => {
    const base = VIEW_SUBMISSION as { view: Record<string, unknown> };
    const view = Object.fromEntries(Object.entries(base.view).filter(([k]) => k !== "state"));
    assertInvalid(await signedForm(form({ ...VIEW_SUBMISSION, view })));
  });

  test("refuses an event callback without its event with 400", FAST, async () => {
    assertInvalid(await signedJson(JSON.stringify({ type: "event_callback", team_id: "T0DBWARD" })));
  });

  test("refuses a JSON body that is not an object with 400", FAST, async () => {
    assertInvalid(await signedJson("[1,2,3]"));
  });
});
