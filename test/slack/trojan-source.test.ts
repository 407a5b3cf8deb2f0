/**
 * Trojan Source on the Slack endpoint, over signed HTTP against a real bot and a fake Slack:
 * a signed payload that is not valid UTF-8 (percent-encoded in a slash command or an
 * interaction, raw in an Events API body) gets 400 and changes nothing; valid multi-byte text
 * works; SQL with a bidirectional override reaches every Slack message escaped, never raw, and is
 * refused in production.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, beforeEach, describe, test } from "node:test";
import type { AuditEvent } from "@dbward/shared";
import { FAKE_SIGNING_SECRET } from "../support/fake-slack.ts";
import { HOME_OPENED } from "./slack-requests.ts";
import { SLACK_USERS, startSlackHarness, textOf, type SlackHarness } from "./slack-harness.ts";

const NOT_UTF8 = { error: { code: "request.invalid", message: "the body is not valid UTF-8" } };

describe("Trojan Source on the Slack endpoint", () => {
  let s: SlackHarness;
  before(async () => {
    s = await startSlackHarness();
  });
  after(async () => s.stop());
  beforeEach(() => s.fake.clear());

  const stored = async (): Promise<number> =>
    (await s.h.bot.store.selectFrom("requests").select("id").execute()).length;
  const actions = (events: readonly AuditEvent[]): string[] => events.map((e) => e.action);

  /** Asserts that sending changed nothing: no request, no audit event, no Slack call. */
  async function assertNothingHappens(send: () => Promise<{ status: number; text: string }>): Promise<void> {
    const [requests, audit] = [await stored(), await s.audit()];
    const res = await send();
    await s.settle();
    assert.equal(res.status, 400, res.text);
    assert.deepEqual(JSON.parse(res.text), NOT_UTF8);
    assert.equal(await stored(), requests, "nothing is stored");
    assert.deepEqual(actions(await s.audit()), actions(audit), "no audit event");
    assert.deepEqual(s.fake.calls, [], "Slack is not called");
  }

  test("a signed slash command with invalid percent-encoded bytes gets 400 and nothing is stored", async () => {
    const good = s.slack.commandBody(
      SLACK_USERS.alice,
      "query shop staging \"x\" UPDATE t SET a = 'é' WHERE id = 1",
    );
    const bad = good.replace("%C3%A9", "%C3%28");
    assert.notEqual(bad, good);
    await assertNothingHappens(() => s.slack.send(bad));
  });

  test("a signed interaction whose payload holds an encoded surrogate gets 400", async () => {
    const body = s.slack.clickBody(SLACK_USERS.bob, "dbward.approve", "1");
    await assertNothingHappens(() => s.slack.send(`${body}%ED%A0%80`));
  });

  test("a signed Events API body with a raw invalid byte gets 400, not a forged-request audit", async () => {
    const json = Buffer.from(JSON.stringify({ ...HOME_OPENED, event_id: "Ev0TROJAN" }), "utf8");
    const bytes = Buffer.concat([json.subarray(0, -1), Buffer.from(',"x":"\xff"}', "latin1")]);
    const ts = Math.floor(Date.now() / 1000);
    const hmac = createHmac("sha256", FAKE_SIGNING_SECRET).update(`v0:${ts}:`).update(bytes).digest("hex");
    await assertNothingHappens(async () => {
      const res = await fetch(`${s.h.url}/slack/events`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-slack-signature": `v0=${hmac}`,
          "x-slack-request-timestamp": String(ts),
        },
        body: bytes,
      });
      return { status: res.status, text: await res.text() };
    });
  });

  test("valid multi-byte UTF-8 in a slash command still works and is stored exactly", async () => {
    const sql = "SELECT '山田 太郎', '👍🏽🐘', 'Zoë'";
    const id = await s.ask(SLACK_USERS.alice, `query shop staging "emoji ✅" ${sql}`);
    const row = await s.h.bot.store
      .selectFrom("requests")
      .select(["sql_text", "reason"])
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    assert.deepEqual(row, { sql_text: sql, reason: "emoji ✅" });
  });

  test("SQL with a right-to-left override reaches the channel, the DMs and the requester escaped", async () => {
    const sql = "UPDATE orders SET note = 'a' WHERE id = 1 /*\u202e ko */";
    const id = await s.ask(SLACK_USERS.alice, `query shop staging "fix" ${sql}`);
    await s.settle();
    const row = await s.h.bot.store
      .selectFrom("requests")
      .select("sql_text")
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    assert.equal(row.sql_text, sql, "the stored text keeps the character itself");
    const posts = s.fake.of("chat.postMessage");
    const withSql = [...posts, ...s.fake.of("response_url")].filter((c) =>
      textOf(c).includes("UPDATE orders SET note"),
    );
    const channels = withSql.map((c) => c.args.channel);
    assert.ok(channels.includes("C0APPROVALS"), `the channel post shows the SQL: ${channels.join(", ")}`);
    assert.ok(withSql.length >= 3, "the channel post, the approvers' DMs and the requester's answer");
    for (const call of withSql) {
      assert.ok(textOf(call).includes("/*⟨U+202E⟩ ko */"), textOf(call));
      assert.ok(!JSON.stringify(call.args).includes("\u202e"), "no raw override is sent to Slack");
    }
  });

  test("the same SQL in production is refused with the reason, and nothing is stored", async () => {
    const before = await stored();
    await s.slack.command(
      SLACK_USERS.alice,
      "query shop production \"fix\" UPDATE orders SET note = 'a' WHERE id = 1 /*\u202e*/",
    );
    await s.settle();
    const reply = textOf(s.fake.of("response_url").at(-1));
    assert.match(reply, /do not show.*U\+202E/);
    assert.equal(await stored(), before);
  });
});
