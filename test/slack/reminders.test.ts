/**
 * Reminders, escalation and the near-expiry notice, run by the sweeper over a real bot with a
 * fake Slack and a clock the test moves by hand (each sweep is called directly, none runs by
 * itself). Decisions go through the HTTP API, the same use case Slack's buttons call.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { RequestView } from "@dbward/shared";
import { listAudit } from "@dbward/bot";
import { sweep } from "../../bot/src/use-cases/sweep.ts";
import { startBotHarness, type BotHarness } from "../support/bot-harness.ts";
import { FakeSlack, type SlackCall } from "../support/fake-slack.ts";
import { SLACK_IDS } from "../../bot/src/slack/ids.ts";
import { APPROVALS_CHANNEL, textOf } from "./slack-harness.ts";
import { SlackRequests } from "./slack-requests.ts";

const U = { alice: "U0ALICE01", bob: "U0BOB0001", carol: "U0CAROL01", dana: "U0DANA001" } as const;

const CONFIG = `
databases:
  - name: shop
    dialect: postgres
    environments: [production]
workflows:
  - name: writes
    database: shop
    operations: [write, ddl]
    steps:
      - approvers: ["group:leads"]
        remind_after: 30m
        escalate_after: 2h
        escalate_to: ["group:dba"]
users:
  - { id: alice, name: Alice, slack_user_id: ${U.alice}, roles: [requester] }
  - { id: bob, name: Bob, slack_user_id: ${U.bob}, roles: [approver], groups: [leads] }
  - { id: carol, name: Carol, slack_user_id: ${U.carol}, roles: [approver], groups: [leads] }
  - { id: dana, name: Dana, slack_user_id: ${U.dana}, roles: [approver], groups: [dba] }
  - { id: root, name: Root, roles: [admin] }
agents:
  - id: agent-1
bootstrap_admin: root
slack:
  approvals_channel: ${APPROVALS_CHANNEL}
execution:
  pending_ttl_ms: 36000000
`;

const MINUTE = 60_000;
const token = (prefix: string): string => `${prefix}${randomBytes(32).toString("base64url")}`;

describe("reminders and escalation", () => {
  const dir = mkdtempSync(join(tmpdir(), "dbward-reminders-"));
  const env = { DBWARD_ADMIN_TOKEN: token("dbw_"), DBWARD_AGENT_TOKEN_AGENT_1: token("dbwa_") };
  let now = new Date("2030-01-01T00:00:00.000Z");
  const clock = { now: () => now };
  let fake: FakeSlack;
  let h: BotHarness;
  const start = async (): Promise<BotHarness> =>
    startBotHarness(CONFIG, {
      dataDir: dir,
      env,
      clock,
      sweepIntervalMs: 3_600_000,
      slack: { env: fake.env(), options: { retry: { attempts: 4, baseDelayMs: 5, maxDelayMs: 50 } } },
    });

  before(async () => {
    fake = await FakeSlack.start();
    h = await start();
  });
  after(async () => {
    await h.stop();
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const at = (t0: Date, ms: number): void => {
    now = new Date(t0.getTime() + ms);
  };
  const settle = async (): Promise<void> => h.bot.slack?.idle();
  async function sweepNow(): Promise<void> {
    await sweep(h.bot.ctx);
    await settle();
  }
  async function create(): Promise<number> {
    const res = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
      database: "shop",
      environment: "production",
      sql: "UPDATE orders SET status = 'x' WHERE id = 1",
      reason: "fix order 1",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    await settle();
    return (res.body as RequestView).id;
  }
  async function actions(id: number, action: string): Promise<unknown[]> {
    const events = await listAudit(h.bot.store, { target: `request:${id}` });
    return events.filter((e) => e.action === action).map((e) => e.details);
  }
  const posts = (channel: string): SlackCall[] =>
    fake.of("chat.postMessage").filter((c) => c.args.channel === channel);
  const reminderDms = (user: string): SlackCall[] =>
    posts(`D${user}`).filter((c) => textOf(c).includes("Reminder"));
  /** Calls that draw request `id` (its card names it). */
  const about = (id: number, calls: SlackCall[]): SlackCall[] =>
    calls.filter((c) => new RegExp(`Request \\\\?#${id}\\b`, "i").test(textOf(c)));
  /** The `ts` of request `id`'s post in the approvals channel. */
  const postOf = async (id: number): Promise<string> =>
    (
      await h.bot.store
        .selectFrom("slack_messages")
        .select("ts")
        .where("request_id", "=", id)
        .where("kind", "=", "post")
        .executeTakeFirstOrThrow()
    ).ts;
  const threadLines = (text: string): SlackCall[] =>
    posts(APPROVALS_CHANNEL).filter((c) => c.args.thread_ts !== undefined && textOf(c).includes(text));

  test("reminds each approver once per interval, updating one DM instead of posting another", async () => {
    fake.clear();
    const t0 = now;
    const id = await create();
    at(t0, 29 * MINUTE);
    await sweepNow();
    assert.deepEqual(await actions(id, "request.reminded"), [], "nothing before remind_after");

    at(t0, 31 * MINUTE);
    await sweepNow();
    assert.deepEqual(await actions(id, "request.reminded"), [{ step: 0, round: 1 }]);
    assert.equal(reminderDms(U.bob).length, 1);
    assert.equal(reminderDms(U.carol).length, 1);
    assert.equal(reminderDms(U.dana).length, 0, "not an approver of the step (yet)");
    assert.equal(reminderDms(U.alice).length, 0, "the requester is not reminded");
    assert.match(textOf(reminderDms(U.bob)[0]), /waited 31m/);
    const line = threadLines("Reminder sent to");
    assert.equal(line.length, 1);
    assert.ok(textOf(line[0]).includes(`<@${U.bob}>`) && textOf(line[0]).includes(`<@${U.carol}>`));

    at(t0, 45 * MINUTE);
    await sweepNow();
    assert.equal((await actions(id, "request.reminded")).length, 1, "one reminder per interval");

    fake.clear();
    at(t0, 61 * MINUTE);
    await sweepNow();
    assert.deepEqual(await actions(id, "request.reminded"), [
      { step: 0, round: 1 },
      { step: 0, round: 2 },
    ]);
    assert.equal(reminderDms(U.bob).length, 0, "no second reminder message");
    const stored = await h.bot.store
      .selectFrom("reminder_dms")
      .select("ts")
      .where("request_id", "=", id)
      .where("user_id", "=", "bob")
      .executeTakeFirstOrThrow();
    const updated = fake
      .of("chat.update")
      .filter((c) => c.args.channel === `D${U.bob}` && textOf(c).includes("waited 1h 1m"));
    assert.equal(updated.length, 1, "the reminder DM is updated in place");
    assert.equal(updated[0]?.args.ts, stored.ts);
    assert.equal(threadLines("Reminder sent to").length, 1, "one thread line per reminder");
  });

  test("escalation lets escalate_to approve after escalate_after, and refuses them before", async () => {
    fake.clear();
    const t0 = now;
    const id = await create();
    const dana = await h.tokenFor("dana");
    at(t0, 119 * MINUTE);
    await sweepNow();
    const early = await h.call(dana, "POST", `/api/requests/${id}/approve`, {});
    assert.equal(early.status, 403, JSON.stringify(early.body));
    assert.equal((await actions(id, "request.approve_refused")).length, 1, "the refusal is audited");
    assert.equal((await actions(id, "request.escalated")).length, 0);
    assert.equal(about(id, posts(`D${U.dana}`)).length, 0);

    at(t0, 120 * MINUTE);
    await sweepNow();
    assert.deepEqual(await actions(id, "request.escalated"), [
      { step: 0, to: ["group:dba"], waited_ms: 120 * MINUTE },
    ]);
    await sweepNow();
    assert.equal((await actions(id, "request.escalated")).length, 1, "a step escalates once");
    const post = await postOf(id);
    const escalatedLine = fake
      .of("chat.postMessage")
      .filter((c) => c.args.thread_ts === post && textOf(c).includes("Escalated to"));
    assert.equal(escalatedLine.length, 1);
    assert.match(textOf(escalatedLine[0]), /group:dba/);
    const danaDms = about(id, posts(`D${U.dana}`));
    const approvalDms = danaDms.filter((c) => textOf(c).includes("You can decide on this request"));
    assert.equal(approvalDms.length, 1, "the new approver gets the approval DM");
    assert.equal(danaDms.length - approvalDms.length, 1, "and, escalated, this interval's reminder");
    const view = (await h.call(dana, "GET", `/api/requests/${id}`)).body as RequestView;
    assert.deepEqual(view.workflow.steps[0]?.escalated_to, ["group:dba"]);

    const approved = await h.call(dana, "POST", `/api/requests/${id}/approve`, {});
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    assert.equal((approved.body as RequestView).status, "dispatched");
    assert.deepEqual(
      (approved.body as RequestView).approvals.map((a) => a.approver),
      ["dana"],
    );
  });

  test("sends no reminder once the request is approved", async () => {
    fake.clear();
    const t0 = now;
    const id = await create();
    at(t0, 10 * MINUTE);
    const ok = await h.call(await h.tokenFor("bob"), "POST", `/api/requests/${id}/approve`, {});
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    await settle();
    fake.clear();
    at(t0, 3 * 60 * MINUTE);
    await sweepNow();
    assert.deepEqual(await actions(id, "request.reminded"), []);
    assert.deepEqual(await actions(id, "request.escalated"), []);
    assert.equal(reminderDms(U.bob).length + reminderDms(U.carol).length, 0);
  });

  test("a restart does not send a reminder twice for the same step and interval", async () => {
    fake.clear();
    const t0 = now;
    const id = await create();
    at(t0, 31 * MINUTE);
    await sweepNow();
    assert.equal((await actions(id, "request.reminded")).length, 1);
    assert.equal(reminderDms(U.bob).length, 1);
    await h.stop();
    h = await start();
    await sweepNow();
    await sweep(h.bot.ctx);
    await settle();
    assert.equal((await actions(id, "request.reminded")).length, 1, "not recorded again");
    assert.equal(reminderDms(U.bob).length, 1, "not sent again");
    at(t0, 61 * MINUTE);
    await sweepNow();
    assert.equal((await actions(id, "request.reminded")).length, 2, "the next interval still comes");
    assert.equal(reminderDms(U.bob).length, 1, "as an update of the same DM");
  });

  test("Snooze 1h holds back that approver's reminders for an hour; a non-approver's is refused", async () => {
    fake.clear();
    const t0 = now;
    const id = await create();
    at(t0, 31 * MINUTE);
    await sweepNow();
    const snoozeButton = (call: SlackCall | undefined): boolean =>
      JSON.stringify(call?.args.blocks ?? []).includes(SLACK_IDS.actions.snoozeReminder);
    assert.ok(snoozeButton(about(id, reminderDms(U.bob))[0]), "the reminder offers Snooze 1h");
    const slack = new SlackRequests(`${h.url}/slack/events`, fake);
    // Slack signs with its own clock; the bot checks against the (moved) one it was given.
    const click = async (user: string): Promise<string> => {
      fake.clear();
      const body = slack.clickBody(user, SLACK_IDS.actions.snoozeReminder, String(id), `D${user}`);
      const res = await slack.send(body, { timestamp: Math.floor(now.getTime() / 1000) });
      assert.equal(res.status, 200);
      await settle();
      return textOf(fake.of("response_url").at(-1));
    };
    assert.match(await click(U.dana), /nothing to snooze/i);
    assert.equal((await actions(id, "request.reminder_snooze_refused")).length, 1);
    assert.match(await click(U.bob), /Snoozed/);
    assert.equal((await actions(id, "request.reminder_snoozed")).length, 1);

    fake.clear();
    at(t0, 61 * MINUTE);
    await sweepNow();
    const updatesTo = (user: string): SlackCall[] =>
      about(
        id,
        fake.of("chat.update").filter((c) => c.args.channel === `D${user}` && textOf(c).includes("waited")),
      );
    assert.equal(updatesTo(U.carol).length, 1);
    assert.equal(updatesTo(U.bob).length, 0, "snoozed");
    const post = await postOf(id);
    const line = fake
      .of("chat.postMessage")
      .find((c) => c.args.thread_ts === post && textOf(c).includes("Reminder"));
    assert.ok(textOf(line).includes(`<@${U.carol}>`) && !textOf(line).includes(`<@${U.bob}>`));

    fake.clear();
    at(t0, 92 * MINUTE);
    await sweepNow();
    assert.equal(updatesTo(U.bob).length, 1, "reminded again once the hour is over");
  });

  test("tells the requester once when their pending request nears its expiry", async () => {
    fake.clear();
    const t0 = now;
    const id = await create();
    const ttl = 36_000_000;
    at(t0, ttl * 0.9 - 1000);
    await sweepNow();
    assert.equal((await actions(id, "request.expiry_warned")).length, 0);
    at(t0, ttl * 0.9);
    await sweepNow();
    await sweepNow();
    assert.equal((await actions(id, "request.expiry_warned")).length, 1);
    const notices = about(
      id,
      posts(`D${U.alice}`).filter((c) => textOf(c).includes("expires soon")),
    );
    assert.equal(notices.length, 1);
  });
});
