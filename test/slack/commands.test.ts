/** `/dbward` commands over signed HTTP, answered privately through the command's response_url. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { SLACK_USERS, startSlackHarness, textOf, type SlackHarness } from "./slack-harness.ts";

describe("/dbward commands", () => {
  let s: SlackHarness;
  before(async () => {
    s = await startSlackHarness();
  });
  after(async () => s.stop());

  async function run(user: string, text: string): Promise<string> {
    s.fake.clear();
    const res = await s.slack.command(user, text);
    assert.equal(res.status, 200);
    assert.equal(res.text, "", "the ack is empty; the answer comes through response_url");
    await s.settle();
    const replies = s.fake.of("response_url");
    assert.equal(
      replies.length,
      1,
      `one private answer, got ${s.fake.calls.map((c) => c.method).join(", ")}`,
    );
    assert.equal(replies[0]?.args.response_type, "ephemeral");
    return textOf(replies[0]);
  }

  test("help tells a requester how to ask for a query", async () => {
    const text = await run(SLACK_USERS.alice, "help");
    assert.match(text, /you are \*Alice\* \(requester\)/);
    assert.match(text, /\/dbward query/);
    assert.doesNotMatch(text, /You are an approver/);
  });

  test("help tells an approver how decisions reach them, and not how to ask", async () => {
    const text = await run(SLACK_USERS.bob, "");
    assert.match(text, /You are an approver/);
    assert.doesNotMatch(text, /ask to run SQL/);
  });

  test("an unlinked Slack user is told how to get linked, and nothing else happens", async () => {
    const before = (await s.audit()).length;
    const text = await run("U0STRANGER", 'query shop staging "x" SELECT 1');
    assert.match(text, /not linked to a dbward user/);
    assert.match(text, /slack_user_id: U0STRANGER/);
    assert.equal((await s.audit()).length, before, "no audit event, no request");
    assert.deepEqual(
      s.fake.calls.map((c) => c.method),
      ["response_url"],
    );
  });

  test("a suspended user is refused, and the refusal is audited", async () => {
    await s.h.bot.store.updateTable("users").set({ status: "suspended" }).where("id", "=", "sam").execute();
    try {
      const before = (await s.audit()).length;
      const text = await run(SLACK_USERS.sam, 'query shop staging "x" SELECT 1');
      assert.match(text, /suspended/);
      assert.match(text, /Ask a dbward admin/);
      const added = (await s.audit()).slice(before);
      assert.deepEqual(
        added.map((e) => [e.actor, e.action, e.outcome, e.details.via]),
        [["user:sam", "auth.failed", "denied", "slack"]],
      );
    } finally {
      await s.h.bot.store.updateTable("users").set({ status: "active" }).where("id", "=", "sam").execute();
    }
  });

  test("an unknown subcommand or database gets a plain correction", async () => {
    assert.match(await run(SLACK_USERS.alice, "frobnicate"), /There is no `frobnicate` command/);
    assert.match(
      await run(SLACK_USERS.alice, "query nope staging SELECT 1"),
      /no database `nope`.*`shop`, `demo`/,
    );
  });

  test("status shows one's own request with its SQL; list shows it; cancel cancels it", async () => {
    const created = await run(
      SLACK_USERS.alice,
      'query shop production "count orders" SELECT count(*) FROM orders',
    );
    const id = /Request #(\d+) created/.exec(created)?.[1];
    assert.ok(id !== undefined, created);
    const status = await run(SLACK_USERS.alice, `status ${id}`);
    assert.match(status, new RegExp(`Request #${id}\\* · :hourglass_flowing_sand: Waiting for approval`));
    assert.ok(status.includes("SELECT count(*) FROM orders"));
    assert.match(await run(SLACK_USERS.alice, "list"), new RegExp(`#${id}\\*`));
    assert.match(
      await run(SLACK_USERS.bob, "list"),
      new RegExp(`Waiting for you\\* \\(\\d+\\)[\\s\\S]*#${id}`),
    );
    assert.match(await run(SLACK_USERS.sam, `status ${id}`), new RegExp(`no request #${id}`));
    assert.match(
      await run(SLACK_USERS.alice, `cancel ${id} wrong table`),
      new RegExp(`Request #${id} is cancelled`),
    );
  });
});
