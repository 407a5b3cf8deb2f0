/**
 * Socket Mode against a local fake of Slack's Socket Mode endpoint: the bot connects out (two
 * connections), the same listeners answer envelopes as they answer HTTP requests, every envelope
 * is acked, a re-delivered envelope changes state once, a `disconnect` (refresh) leaves the app
 * reachable, and nothing is mounted at /slack/events.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { SLACK_IDS } from "@dbward/bot/slack/ids";
import type { RequestView } from "@dbward/shared";
import { startBotHarness, type BotHarness } from "../support/bot-harness.ts";
import { FakeSlack } from "../support/fake-slack.ts";
import { FakeSocketMode } from "../support/fake-socket-mode.ts";
import { APPROVALS_CHANNEL, SLACK_TEST_CONFIG, SLACK_USERS, textOf } from "./slack-harness.ts";
import { SlackRequests } from "./slack-requests.ts";

const SOCKET_CONFIG = SLACK_TEST_CONFIG.replace("slack:\n", "slack:\n  mode: socket\n");
const APP_TOKEN = "xapp-1-A0DBWARD-1-fake";

/** The fake's environment for Socket Mode: no signing secret (nothing to sign), an app token. */
function socketEnv(fake: FakeSlack): Record<string, string> {
  return Object.fromEntries(Object.entries(fake.env()).filter(([k]) => k !== "SLACK_SIGNING_SECRET"));
}

describe("Socket Mode", () => {
  let fake: FakeSlack;
  let socket: FakeSocketMode;
  let h: BotHarness;
  let shapes: SlackRequests;

  before(async () => {
    fake = await FakeSlack.start();
    socket = await FakeSocketMode.start(fake);
    const env = socketEnv(fake);
    h = await startBotHarness(SOCKET_CONFIG, {
      slack: {
        env: { ...env, SLACK_APP_TOKEN: APP_TOKEN },
        options: { retry: { attempts: 4, baseDelayMs: 5, maxDelayMs: 50 } },
      },
    });
    await socket.connected(2);
    // The payload shapes of the HTTP tests; only the transport differs.
    shapes = new SlackRequests("http://unused.invalid", fake);
  });
  after(async () => {
    await h.stop();
    await socket.close();
    await fake.close();
  });

  const settle = async (): Promise<void> => h.bot.slack?.idle();
  const command = (user: string, text: string): Record<string, unknown> =>
    Object.fromEntries(new URLSearchParams(shapes.commandBody(user, text)));
  const click = (user: string, action: string, value: string): Record<string, unknown> =>
    JSON.parse(new URLSearchParams(shapes.clickBody(user, action, value)).get("payload") ?? "{}") as Record<
      string,
      unknown
    >;
  const createdId = (): number => {
    const reply = textOf(fake.of("response_url").at(-1));
    const id = /Request #(\d+) created/.exec(reply)?.[1];
    assert.ok(id !== undefined, `no request was created; the answer was: ${reply}`);
    return Number(id);
  };
  const status = async (id: number): Promise<string> =>
    ((await h.call(await h.tokenFor("olga"), "GET", `/api/requests/${id}`)).body as RequestView).status;

  test("connects out with the app-level token over two connections, and mounts nothing for Slack", async () => {
    assert.equal(socket.connections, 2);
    assert.ok(fake.of("apps.connections.open").every((c) => c.token === APP_TOKEN));
    const res = await fetch(`${h.url}/slack/events`, { method: "POST", body: "x" });
    assert.equal(res.status, 404, "no inbound endpoint for Slack in Socket Mode");
  });

  test("a query by slash command is acked, answered, posted; the approval click dispatches it", async () => {
    fake.clear();
    const ack = await socket.send(
      "slash_commands",
      command(SLACK_USERS.alice, `query shop production "socket test" SELECT 1`),
    );
    assert.ok(ack.envelope_id !== "");
    await settle();
    const id = createdId();
    const post = fake.of("chat.postMessage").find((c) => c.args.channel === APPROVALS_CHANNEL);
    assert.ok(post !== undefined, "the approval post went out");
    assert.equal(await status(id), "pending_approval");
    await socket.send("interactive", click(SLACK_USERS.bob, SLACK_IDS.actions.approve, String(id)), {
      on: 1,
    });
    await settle();
    assert.equal(await status(id), "dispatched", "the click on the other connection approved it");
  });

  test("an envelope delivered again (a retry, another connection) changes state once", async () => {
    fake.clear();
    const payload = command(SLACK_USERS.alice, `query shop production "socket test" SELECT 2`);
    await socket.send("slash_commands", payload, { on: 0 });
    await socket.send("slash_commands", payload, { on: 1, retryAttempt: 1 });
    await settle();
    const created = fake.of("response_url").filter((c) => /Request #\d+ created/.test(textOf(c)));
    assert.equal(created.length, 1, "one request from one command");
    const list = (await h.call(await h.tokenFor("olga"), "GET", "/api/requests")).body as {
      requests: RequestView[];
    };
    assert.equal(list.requests.filter((r) => r.sql === "SELECT 2").length, 1);
  });

  test("an envelope no listener handles is acked at once and the person told", async () => {
    fake.clear();
    const ack = await socket.send(
      "interactive",
      click(SLACK_USERS.alice, "dbward.renamed.button", "request-3"),
    );
    assert.ok(ack.envelope_id !== "", "acked");
    await settle();
    assert.match(textOf(fake.of("response_url").at(-1)), /older version of dbward/);
  });

  test("an event type dbward does not handle is acked", async () => {
    const ack = await socket.send("events_api", {
      type: "event_callback",
      event_id: "Ev0UNKNOWN1",
      event: { type: "reaction_added", user: SLACK_USERS.alice },
    });
    assert.ok(ack.envelope_id !== "");
  });

  test("after Slack asks a connection to refresh, the app stays reachable and reconnects", async () => {
    const before = socket.opened;
    socket.refresh(0);
    // The other connection is still there while the first one moves.
    fake.clear();
    await socket.send(
      "slash_commands",
      command(SLACK_USERS.alice, `query shop production "socket test" SELECT 3`),
      {
        on: socket.connections - 1,
      },
    );
    await settle();
    assert.ok(createdId() > 0);
    const deadline = Date.now() + 20_000;
    while (socket.opened === before || socket.connections < 2) {
      assert.ok(Date.now() < deadline, "the refreshed connection came back");
      await new Promise((r) => setTimeout(r, 50));
    }
  });
});

describe("Socket Mode refuses a token Slack will not take", () => {
  test("an app token Slack refuses stops the start with a message that names it", async () => {
    const fake = await FakeSlack.start();
    try {
      const env = socketEnv(fake);
      await assert.rejects(
        startBotHarness(SOCKET_CONFIG, { slack: { env: { ...env, SLACK_APP_TOKEN: APP_TOKEN } } }),
        /SLACK_APP_TOKEN.*not_allowed_token_type/,
      );
    } finally {
      await fake.close();
    }
  });
});
