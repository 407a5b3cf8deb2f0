/**
 * SECURITY.md threat "forged or replayed Slack request": a bad signature, missing headers, a
 * timestamp older than five minutes or more than five minutes ahead, and an exact replay are
 * refused with 401. The failure is the only thing recorded: one `auth.failed` audit event, no
 * request, no Slack call, no stored signature (only verified signatures are remembered, in the
 * state store: test/slack/two-instances.test.ts replays to a second instance).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { FAKE_SIGNING_SECRET } from "../support/fake-slack.ts";
import { signSlackRequest } from "../support/slack-signer.ts";
import { SLACK_TEST_CONFIG, SLACK_USERS, startSlackHarness, type SlackHarness } from "./slack-harness.ts";

describe("forged or replayed Slack request", () => {
  let s: SlackHarness;
  before(async () => {
    s = await startSlackHarness();
  });
  after(async () => s.stop());

  const query = (): string => s.slack.commandBody(SLACK_USERS.alice, 'query shop staging "x" SELECT 1');
  const now = (): number => Math.floor(Date.now() / 1000);

  const signatures = async (): Promise<string[]> =>
    (
      await s.h.bot.store
        .selectFrom("slack_signatures_seen")
        .select("signature")
        .orderBy("signature")
        .execute()
    ).map((r) => r.signature);

  /** Sends, expects 401, and checks that only one auth.failed event was recorded and nothing else happened. */
  async function refused(send: () => Promise<{ status: number }>, why: RegExp): Promise<void> {
    const before = (await s.audit()).at(-1)?.seq ?? 0;
    const requestsBefore = await s.h.bot.store.selectFrom("requests").select("id").execute();
    const signaturesBefore = await signatures();
    s.fake.clear();
    const res = await send();
    assert.equal(res.status, 401);
    await s.settle();
    const added = (await s.audit()).filter((e) => e.seq > before);
    assert.equal(added.length, 1, JSON.stringify(added));
    const [event] = added;
    assert.equal(event?.action, "auth.failed");
    assert.equal(event?.outcome, "denied");
    assert.equal(event?.actor, "anonymous");
    assert.equal(event?.details.kind, "slack");
    assert.match(String(event?.details.why), why);
    assert.deepEqual(await s.h.bot.store.selectFrom("requests").select("id").execute(), requestsBefore);
    assert.deepEqual(await signatures(), signaturesBefore, "a refused request's signature is never stored");
    assert.deepEqual(s.fake.calls, [], "nothing was sent to Slack");
  }

  test("a signature made with another secret is refused", async () => {
    const body = query();
    await refused(
      () => s.slack.send(body, { headers: signSlackRequest("not-the-secret", body) }),
      /bad signature/,
    );
  });

  test("a body changed after signing is refused", async () => {
    const body = query();
    const headers = signSlackRequest(FAKE_SIGNING_SECRET, body);
    await refused(
      () =>
        s.slack.sendRaw(body.replace("SELECT", "DELETE"), {
          "content-type": "application/x-www-form-urlencoded",
          ...headers,
        }),
      /bad signature/,
    );
  });

  test("a request without the signature headers is refused", async () => {
    await refused(() => s.slack.send(query(), { headers: {} }), /missing/);
    const body = query();
    const { "x-slack-signature": signature } = signSlackRequest(FAKE_SIGNING_SECRET, body);
    await refused(() => s.slack.send(body, { headers: { "x-slack-signature": signature } }), /missing/);
  });

  test("malformed signature headers are refused", async () => {
    await refused(
      () =>
        s.slack.send(query(), {
          headers: { "x-slack-signature": "v1=abc", "x-slack-request-timestamp": "soon" },
        }),
      /malformed/,
    );
  });

  test("a timestamp older than five minutes is refused, even correctly signed", async () => {
    await refused(() => s.slack.send(query(), { timestamp: now() - 5 * 60 - 30 }), /too old/);
  });

  test("a timestamp more than five minutes ahead is refused, even correctly signed", async () => {
    await refused(() => s.slack.send(query(), { timestamp: now() + 5 * 60 + 30 }), /future/);
  });

  test("an exact replay of an accepted request is refused and creates nothing more", async () => {
    const first = await s.slack.command(SLACK_USERS.alice, 'query shop staging "once" SELECT 1');
    assert.equal(first.status, 200);
    await s.settle();
    await refused(() => s.slack.sendRaw(first.sent.body, first.sent.headers), /replayed/);
  });

  test("a correctly signed request inside the window is accepted, and its signature remembered", async () => {
    const res = await s.slack.command(SLACK_USERS.alice, "help", { timestamp: now() - 60 });
    assert.equal(res.status, 200);
    assert.ok((await signatures()).includes(res.sent.headers["x-slack-signature"] ?? "?"));
  });
});

describe("a flood of forged Slack requests from one address", () => {
  let s: SlackHarness;
  before(async () => {
    s = await startSlackHarness(
      `${SLACK_TEST_CONFIG}\nhttp: { rate_limits: { auth_failures: { burst: 3, per_minute: 1 } } }\n`,
    );
  });
  after(async () => s.stop());

  test("is audited up to the failed-authentication limit, then answered 429 without verifying or auditing", async () => {
    const forged = (): Promise<{ status: number }> => {
      const body = s.slack.commandBody(SLACK_USERS.alice, "help");
      return s.slack.send(body, { headers: signSlackRequest("not-the-secret", body) });
    };
    const failures = async () => (await s.audit()).filter((e) => e.action === "auth.failed").length;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await forged()).status);
    assert.deepEqual(statuses, [401, 401, 401, 429, 429, 429]);
    assert.equal(await failures(), 3, "only the refusals before the limit are in the audit chain");
    const signed = await s.slack.command(SLACK_USERS.alice, "help");
    assert.equal(signed.status, 429, "the address waits, whatever it sends, until its bucket refills");
    assert.equal(await failures(), 3);
  });
});
