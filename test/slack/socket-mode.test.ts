/**
 * Socket Mode against a local fake of Slack's Socket Mode endpoint: the bot connects out (two
 * connections), the same listeners answer envelopes as they answer HTTP requests (a query and its
 * approval, a rejection through its modal, the Home tab, the admin's user list), every envelope
 * is acked (a form's errors ride on the ack) — one whose listener throws before acking and one
 * Bolt cannot route too, in HTTP mode as well —, a re-delivered envelope changes state once, a
 * `disconnect` (refresh) leaves the app reachable, the listeners' Web API client makes one HTTP
 * request per outbox try (the Socket Mode client's `retries: 100` never reaches it), and nothing
 * is mounted at /slack/events.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pino from "pino";
import { SLACK_IDS } from "../../bot/src/slack/ids.ts";
import type { RequestView } from "@dbward/shared";
import { PG_URL, startTestAgent } from "../support/agent-harness.ts";
import { startBotHarness, type BotHarness } from "../support/bot-harness.ts";
import { waitForStatus } from "../support/wait.ts";
import { FakeSlack, type SlackCall } from "../support/fake-slack.ts";
import { FakeSocketMode } from "../support/fake-socket-mode.ts";
import { APPROVALS_CHANNEL, SLACK_TEST_CONFIG, SLACK_USERS, buttonsOf, textOf } from "./slack-harness.ts";
import {
  SlackRequests,
  homeOpenedEvent,
  input,
  interactionPayload,
  type ViewValues,
} from "./slack-requests.ts";

const ADA = "U0ADA0001";
const NEW_PERSON = "U0NEWPER2";
/** The HTTP tests' config in Socket Mode, with an admin who is linked to Slack. */
const SOCKET_CONFIG = SLACK_TEST_CONFIG.replace("slack:\n", "slack:\n  mode: socket\n").replace(
  "  - { id: root, name: Root, roles: [admin] }",
  `  - { id: root, name: Root, roles: [admin] }\n  - { id: ada, name: Ada, slack_user_id: ${ADA}, roles: [admin] }`,
);
const APP_TOKEN = "xapp-1-A0DBWARD-1-fake";

/** A logger that keeps what the bot logs at warn and above, one parsed line each. */
function keptLogs(): { logger: pino.Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino(
    { level: "warn" },
    { write: (line: string) => lines.push(JSON.parse(line) as LogLine) },
  );
  return { logger, lines };
}

interface LogLine {
  readonly msg?: string;
  readonly code?: string;
  readonly attempt?: number;
  /** Bolt wraps a listener's error; the listener's own is `original`. */
  readonly err?: { readonly original?: { readonly type?: string } };
}

/** Whether a listener's TypeError reached Bolt's error handler (mount-slack.ts logs it). */
const listenerThrew = (lines: readonly LogLine[]): boolean =>
  lines.some((l) => l.msg === "Slack listener error" && l.err?.original?.type === "TypeError");

/**
 * A query form's submission whose input values hold `null` for a block: the form listener reads
 * the values before its ack (view-state.ts) and throws a TypeError on it. Slack never sends it;
 * it stands for any bug in a listener before its ack.
 */
function throwingSubmission(body: Record<string, unknown>): Record<string, unknown> {
  const view = body.view as Record<string, unknown>;
  return { ...body, view: { ...view, state: { values: { [SLACK_IDS.inputs.sql.block]: null } } } };
}

/** The fake's environment for Socket Mode: no signing secret (nothing to sign), an app token. */
function socketEnv(fake: FakeSlack): Record<string, string> {
  return Object.fromEntries(Object.entries(fake.env()).filter(([k]) => k !== "SLACK_SIGNING_SECRET"));
}

describe("Socket Mode", () => {
  let fake: FakeSlack;
  let socket: FakeSocketMode;
  let h: BotHarness;
  let shapes: SlackRequests;
  const logs = keptLogs();

  before(async () => {
    fake = await FakeSlack.start();
    socket = await FakeSocketMode.start(fake);
    const env = socketEnv(fake);
    h = await startBotHarness(SOCKET_CONFIG, {
      logger: logs.logger,
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
    interactionPayload(shapes.clickBody(user, action, value));
  const submission = (
    user: string,
    callbackId: string,
    values: ViewValues,
    meta = "",
  ): Record<string, unknown> => interactionPayload(shapes.submitViewBody(user, callbackId, values, meta));
  /** The view of the last `method` call (views.open, views.push, …) that reached the fake. */
  const lastView = (method: string): { callback_id: string; private_metadata?: string } | undefined =>
    fake.of(method).at(-1)?.args.view as { callback_id: string; private_metadata?: string } | undefined;
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
    // The real agent runs it on PostgreSQL, and the result reaches the requester by DM.
    const agent = await startTestAgent(h, "agent-1", [
      { name: "shop", environment: "production", driver: "postgres", url: PG_URL, operations: ["read"] },
    ]);
    try {
      await waitForStatus(h, id, "succeeded");
      await settle();
      // The fake opens a person's DM as `D<user id>`: the result's message, then its CSV file there.
      const dm = `D${SLACK_USERS.alice}`;
      const toAlice = fake
        .of("chat.postMessage")
        .filter((c) => c.args.channel === dm)
        .map(textOf);
      assert.ok(
        toAlice.some((t) => /Succeeded — Your request #\d+/.test(t)),
        JSON.stringify(toAlice),
      );
      const file = fake.of("files.completeUploadExternal").filter((c) => c.args.channel_id === dm);
      assert.equal(file.length, 1, "and its CSV file");
    } finally {
      await agent.stop();
    }
  });

  test("Reject opens the modal; a blank reason is sent back in the ack, a real one rejects and redraws the post", async () => {
    fake.clear();
    await socket.send(
      "slash_commands",
      command(SLACK_USERS.alice, `query shop production "socket reject" SELECT 4`),
    );
    await settle();
    const id = createdId();
    assert.ok(fake.of("chat.postMessage").some((c) => c.args.channel === APPROVALS_CHANNEL));

    fake.clear();
    const clicked = await socket.send(
      "interactive",
      click(SLACK_USERS.bob, SLACK_IDS.actions.reject, String(id)),
    );
    assert.deepEqual(clicked.payload, {}, "a button is acked with nothing");
    await settle();
    const modal = lastView("views.open");
    assert.equal(modal?.callback_id, SLACK_IDS.views.reject);
    assert.deepEqual(JSON.parse(modal?.private_metadata ?? "{}"), {
      requestId: id,
      channel: APPROVALS_CHANNEL,
    });

    const reason = (text: string): ViewValues => ({
      [SLACK_IDS.inputs.comment.block]: { [SLACK_IDS.inputs.comment.action]: input.text(text) },
    });
    const blank = await socket.send(
      "interactive",
      submission(SLACK_USERS.bob, SLACK_IDS.views.reject, reason("  "), modal?.private_metadata),
    );
    assert.deepEqual(blank.payload, {
      response_action: "errors",
      errors: { [SLACK_IDS.inputs.comment.block]: "A rejection needs a reason: say what should change." },
    });
    await settle();
    assert.equal(await status(id), "pending_approval");

    fake.clear();
    const sent = await socket.send(
      "interactive",
      submission(SLACK_USERS.bob, SLACK_IDS.views.reject, reason("add a WHERE"), modal?.private_metadata),
      { on: 1 },
    );
    assert.deepEqual(sent.payload, {}, "acked with nothing: the modal closes");
    await settle();
    assert.equal(await status(id), "rejected");
    const update = fake.of("chat.update").find((c) => c.args.channel === APPROVALS_CHANNEL);
    assert.match(textOf(update), /Rejected by <@U0BOB0001>: add a WHERE/);
    assert.deepEqual(buttonsOf(update), [], "nothing left to decide on the post");
    const thread = fake
      .of("chat.postMessage")
      .filter((c) => c.args.channel === APPROVALS_CHANNEL && c.args.thread_ts !== undefined);
    assert.match(thread.map(textOf).join("\n"), /<@U0BOB0001> rejected/);
    assert.match(textOf(fake.of("chat.postEphemeral")[0]), new RegExp(`You rejected request #${id}`));
  });

  test("app_home_opened draws the opener's Home tab with their requests", async () => {
    fake.clear();
    await socket.send(
      "slash_commands",
      command(SLACK_USERS.sam, `query shop production "sam's home" SELECT 5`),
    );
    await settle();
    const id = createdId();
    fake.clear();
    const ack = await socket.send("events_api", homeOpenedEvent(SLACK_USERS.sam));
    assert.ok(ack.envelope_id !== "");
    assert.deepEqual(ack.payload, {});
    await settle();
    const home = fake
      .of("views.publish")
      .filter((c) => c.args.user_id === SLACK_USERS.sam)
      .at(-1);
    assert.ok(home !== undefined, "the Home tab was published");
    assert.equal((home.args.view as { callback_id: string }).callback_id, SLACK_IDS.views.home);
    assert.match(textOf(home), new RegExp(`Your latest requests\\*\\n\\*#${id}\\* .*sam's home`));
    assert.deepEqual(
      fake.of("views.publish").map((c) => c.args.user_id),
      [SLACK_USERS.sam],
      "nobody else's tab",
    );
  });

  test("an admin opens the user list by command, adds a user in the stacked form, and the list confirms", async () => {
    fake.clear();
    const opened = await socket.send("slash_commands", command(ADA, "admin"));
    assert.ok(opened.envelope_id !== "");
    await settle();
    const list = fake.of("views.open").at(-1);
    assert.equal(lastView("views.open")?.callback_id, SLACK_IDS.views.admin);
    assert.match(textOf(list), /\*Alice\* `alice`/);
    const root = "V0SOCKETROOT";

    fake.clear();
    const clicked = await socket.send(
      "interactive",
      interactionPayload(
        shapes.clickInViewBody(ADA, SLACK_IDS.actions.adminAdd, "add", {
          id: root,
          callback_id: SLACK_IDS.views.admin,
        }),
      ),
    );
    assert.deepEqual(clicked.payload, {});
    await settle();
    const form = lastView("views.push");
    assert.equal(form?.callback_id, SLACK_IDS.views.adminAdd);
    assert.deepEqual(JSON.parse(form?.private_metadata ?? "{}"), { root });

    fake.clear();
    const ids = SLACK_IDS.inputs;
    const values: ViewValues = {
      [ids.adminSlackUser.block]: {
        [ids.adminSlackUser.action]: { type: "users_select", selected_user: NEW_PERSON },
      },
      [ids.adminName.block]: { [ids.adminName.action]: input.text("Nico Socket") },
      [ids.adminRoles.block]: {
        [ids.adminRoles.action]: {
          type: "multi_static_select",
          selected_options: [{ text: { type: "plain_text", text: "requester" }, value: "requester" }],
        },
      },
      [ids.adminGroups.block]: { [ids.adminGroups.action]: input.text("") },
    };
    const added = await socket.send(
      "interactive",
      submission(ADA, SLACK_IDS.views.adminAdd, values, form?.private_metadata),
    );
    assert.deepEqual(added.payload, {}, "the form closes");
    await settle();
    const row = await h.bot.store
      .selectFrom("users")
      .selectAll()
      .where("slack_user_id", "=", NEW_PERSON)
      .executeTakeFirst();
    assert.equal(row?.display_name, "Nico Socket");
    assert.deepEqual(JSON.parse(row?.roles ?? "[]"), ["requester"]);
    const redrawn = fake.of("views.update").at(-1);
    assert.equal(redrawn?.args.view_id, root);
    assert.match(textOf(redrawn), new RegExp(`Added \\*Nico Socket\\* as \`${row?.id}\``));
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

  test("a submission whose listener throws before its ack is acked, the person told over their kept form, and nothing changes", async () => {
    const requests = async (): Promise<number> =>
      ((await h.call(await h.tokenFor("olga"), "GET", "/api/requests")).body as { requests: unknown[] })
        .requests.length;
    const before = await requests();
    fake.clear();
    logs.lines.length = 0;
    const ack = await socket.send(
      "interactive",
      throwingSubmission(submission(SLACK_USERS.alice, SLACK_IDS.views.query, {})),
    );
    assert.ok(ack.envelope_id !== "", "acked: Slack does not re-deliver it");
    assert.equal(ack.payload?.response_action, "push", "a modal over the form, so Back returns to it");
    assert.match(JSON.stringify(ack.payload?.view), /failed while handling that, and recorded nothing/);
    await settle();
    assert.ok(
      listenerThrew(logs.lines),
      `the listener threw, and it was logged; logs: ${JSON.stringify(logs.lines)}`,
    );
    assert.equal(await requests(), before, "no request was created");
    assert.deepEqual(
      fake.calls.map((c) => c.method),
      [],
      "nothing was posted, no modal opened, and it was not taken for an unknown form",
    );
  });

  test("an envelope Bolt cannot route (an interaction of a type it does not know) is acked by the receiver", async () => {
    fake.clear();
    // Bolt drops it before any middleware runs: only the receiver's own catch-all answers it.
    const ack = await socket.send("interactive", {
      type: "block_actions_v2",
      user: { id: SLACK_USERS.alice },
      trigger_id: "1.2.new-type",
    });
    assert.ok(ack.envelope_id !== "");
    await settle();
    assert.deepEqual(fake.calls, []);
  });

  test("an event type dbward does not handle is acked", async () => {
    const ack = await socket.send("events_api", {
      type: "event_callback",
      event_id: "Ev0UNKNOWN1",
      event: { type: "reaction_added", user: SLACK_USERS.alice },
    });
    assert.ok(ack.envelope_id !== "");
  });

  // Slack's `disconnect` before it recycles a connection (refresh_requested), or its notice that
  // the connection will soon be closed (warning): the client handles both the same way.
  for (const [reason, what, n] of [
    ["refresh_requested", "asks a connection to refresh", 3],
    ["warning", "warns a connection will close (disconnect: warning)", 4],
  ] as const) {
    test(`after Slack ${what}, the app stays reachable and reconnects`, async () => {
      const before = socket.opened;
      socket.refresh(0, reason);
      // The other connection is still there while the first one moves.
      fake.clear();
      await socket.send(
        "slash_commands",
        command(SLACK_USERS.alice, `query shop production "socket test" SELECT ${n}`),
        { on: socket.connections - 1 },
      );
      await settle();
      assert.ok(createdId() > 0);
      const deadline = Date.now() + 20_000;
      while (socket.opened === before || socket.connections < 2) {
        assert.ok(Date.now() < deadline, "the refreshed connection came back");
        await new Promise((r) => setTimeout(r, 50));
      }
    });
  }
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

describe("HTTP mode: a listener that throws before its ack", () => {
  test("is answered at once, not at Bolt's timeout, and changes nothing", { timeout: 10_000 }, async () => {
    const fake = await FakeSlack.start();
    const logs = keptLogs();
    // Bolt's own fallback would answer only after 30 s: an answer within the test's time is ours.
    const h = await startBotHarness(SLACK_TEST_CONFIG, {
      logger: logs.logger,
      slack: { env: fake.env(), options: { unhandledRequestTimeoutMillis: 30_000 } },
    });
    try {
      const slack = new SlackRequests(`${h.url}/slack/events`, fake);
      const body = throwingSubmission(
        interactionPayload(slack.submitViewBody(SLACK_USERS.alice, SLACK_IDS.views.query, {})),
      );
      const started = Date.now();
      const res = await slack.send(new URLSearchParams({ payload: JSON.stringify(body) }).toString());
      assert.equal(res.status, 200, res.text);
      assert.ok(Date.now() - started < 3000, "within Slack's 3 seconds");
      const answer = JSON.parse(res.text) as { response_action?: string; view?: unknown };
      assert.equal(answer.response_action, "push");
      assert.match(JSON.stringify(answer.view), /recorded nothing/);
      await h.bot.slack?.idle();
      assert.ok(listenerThrew(logs.lines), "the listener threw, and it was logged");
      const list = (await h.call(await h.tokenFor("olga"), "GET", "/api/requests")).body as {
        requests: unknown[];
      };
      assert.equal(list.requests.length, 0);
      assert.deepEqual(
        fake.calls.map((c) => c.method),
        [],
      );
    } finally {
      await h.stop();
      await fake.close();
    }
  });
});

describe("Socket Mode: the listeners' Web API client does not retry by itself", () => {
  let fake: FakeSlack;
  let socket: FakeSocketMode;
  let h: BotHarness;
  const logs = keptLogs();
  /** The outbox's failed tries, as it logs them (one line per try it will retry). */
  const failedTries = (): { code: string | undefined; attempt: number | undefined }[] =>
    logs.lines
      .filter((l) => l.msg === "Slack delivery failed; retrying")
      .map((l) => ({ code: l.code, attempt: l.attempt }));

  before(async () => {
    fake = await FakeSlack.start();
    socket = await FakeSocketMode.start(fake);
    h = await startBotHarness(SOCKET_CONFIG, {
      logger: logs.logger,
      slack: {
        env: { ...socketEnv(fake), SLACK_APP_TOKEN: APP_TOKEN },
        // A cap above the fake's Retry-After (1 s), which the outbox's backoff never goes past.
        options: { retry: { attempts: 5, baseDelayMs: 20, maxDelayMs: 2000 } },
      },
    });
    await socket.connected(2);
  });
  after(async () => {
    await h.stop();
    await socket.close();
    await fake.close();
  });

  /** Creates a request that needs approval and waits until its approval post is delivered. */
  async function postApproval(sql: string): Promise<SlackCall[]> {
    fake.clear();
    logs.lines.length = 0;
    const res = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
      database: "shop",
      environment: "production",
      sql,
      reason: "retry test",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    await h.bot.slack?.idle();
    return fake.of("chat.postMessage").filter((c) => c.args.channel === APPROVALS_CHANNEL);
  }

  test("Slack answering HTTP 500: one request per outbox try, the retries the outbox's", async () => {
    fake.failNext("chat.postMessage", "http_500", 2);
    const posts = await postApproval("SELECT 500");
    assert.equal(posts.length, 3, "two refused, then posted");
    assert.deepEqual(
      failedTries(),
      [
        { code: "http_500", attempt: 1 },
        { code: "http_500", attempt: 2 },
      ],
      "each HTTP 500 failed its own outbox try: the client did not retry it within a try",
    );
  });

  test("Slack rate-limiting: one request per outbox try, the next after Retry-After", async () => {
    fake.retryAfterSeconds = 1;
    fake.failNext("chat.postMessage", "ratelimited", 1);
    try {
      const posts = await postApproval("SELECT 429");
      assert.equal(posts.length, 2, "refused once, then posted");
      assert.deepEqual(failedTries(), [{ code: "ratelimited", attempt: 1 }]);
      const [first, second] = posts;
      assert.ok(
        first !== undefined && second !== undefined && second.at - first.at >= 1000,
        "the outbox waited for Retry-After",
      );
    } finally {
      fake.retryAfterSeconds = 0;
    }
  });
});
