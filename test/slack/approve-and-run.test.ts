/**
 * The whole Slack path with the real agent: a SELECT asked for in Slack is approved with a click,
 * the agent runs it on the real PostgreSQL, the channel message and its thread follow each step,
 * and the requester (and whoever the result policy names) gets the first rows as a table and the
 * whole result as a CSV file through Slack's external upload flow.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { AgentHandle } from "@dbward/agent";
import { SLACK_IDS } from "../../bot/src/slack/ids.ts";
import { SLACK_METHOD_SCOPES } from "../../bot/src/slack/slack-api.ts";
import pg from "pg";
import { PG_URL, startTestAgent } from "../support/agent-harness.ts";
import type { SlackCall } from "../support/fake-slack.ts";
import { waitForStatus } from "../support/wait.ts";
import {
  APPROVALS_CHANNEL,
  SLACK_USERS,
  buttonsOf,
  startSlackHarness,
  textOf,
  type SlackHarness,
} from "./slack-harness.ts";

const table = `dbward_slack_${randomBytes(4).toString("hex")}`;

describe("approve in Slack, run on PostgreSQL, results back in Slack", () => {
  let s: SlackHarness;
  let agent: AgentHandle;
  const db = new pg.Client(PG_URL);

  before(async () => {
    await db.connect();
    await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, customer text, total numeric(10,2))`);
    await db.query(
      `INSERT INTO ${table} SELECT g, 'customer, "' || g || '"', g * 1.5 FROM generate_series(1, 30) AS g`,
    );
    s = await startSlackHarness();
    agent = await startTestAgent(s.h, "agent-1", [
      {
        name: "shop",
        environment: "production",
        driver: "postgres",
        url: PG_URL,
        operations: ["read", "write"],
      },
      {
        name: "shop",
        environment: "staging",
        driver: "postgres",
        url: PG_URL,
        operations: ["read", "write"],
      },
    ]);
  });
  after(async () => {
    await agent.stop();
    await s.stop();
    await db.query(`DROP TABLE IF EXISTS ${table}`);
    await db.end();
  });

  const ask = (text: string): Promise<number> => s.ask(SLACK_USERS.alice, text);

  test("approve → message updated, thread replies, the agent runs it, the requester gets a table and a CSV", async () => {
    const id = await ask(
      `query shop production "totals for finance" SELECT id, customer, total FROM ${table} ORDER BY id`,
    );
    const post = s.fake.of("chat.postMessage").find((c) => c.args.channel === APPROVALS_CHANNEL);
    assert.ok(post !== undefined);
    s.fake.clear();

    await s.slack.click(SLACK_USERS.bob, SLACK_IDS.actions.approve, String(id));
    const done = await waitForStatus(s.h, id, "succeeded");
    assert.equal(done.executions[0]?.row_count, 30);
    await s.fake.waitFor(
      "the CSV upload completed",
      (calls) => calls.filter((c) => c.method === "files.completeUploadExternal").length >= 2,
    );
    await s.settle();

    const updates = s.fake.of("chat.update").filter((c) => c.args.channel === APPROVALS_CHANNEL);
    assert.ok(updates.length >= 2, "redrawn on approval and on the result");
    const last = updates.at(-1);
    assert.deepEqual(buttonsOf(last), []);
    assert.match(textOf(last), /Succeeded/);
    assert.match(textOf(last), /30 rows in \d+ ms/);
    assert.ok(!textOf(last).includes("SELECT id, customer"), "production SQL stays out of the channel");
    const thread = s.fake.of("chat.postMessage").filter((c) => c.args.thread_ts === updates[0]?.args.ts);
    assert.match(thread.map(textOf).join("\n"), /<@U0BOB0001> approved[\s\S]*Succeeded: 30 rows/);
    assert.ok(
      !s.fake
        .of("chat.postMessage")
        .some((c) => c.args.channel === APPROVALS_CHANNEL && textOf(c).includes('customer, "1"')),
      "no result rows in the channel",
    );

    const dm = `D${SLACK_USERS.alice}`;
    const toAlice = s.fake
      .of("chat.postMessage")
      .filter((c) => c.args.channel === dm)
      .map(textOf);
    assert.ok(toAlice.some((t) => /was approved by <@U0BOB0001>/.test(t)));
    assert.ok(toAlice.some((t) => /Succeeded — Your request #\d+/.test(t)));
    const table0 = toAlice.find((t) => t.includes("Result of request"));
    assert.ok(table0 !== undefined);
    assert.match(table0, /id \| customer\s+\| total/);
    assert.match(table0, /1 {2}\| customer, "1"\s+\| 1\.50/);
    assert.match(table0, /Showing the first 5 of 30 rows; all of them are in the CSV file/);

    const asked = s.fake.of("files.getUploadURLExternal")[0];
    assert.equal(asked?.args.filename, `dbward-request-${id}.csv`);
    const upload = s.fake.of("upload")[0];
    assert.equal(Number(asked?.args.length), Buffer.byteLength(upload?.content ?? ""));
    const csv = upload?.content ?? "";
    assert.equal(csv.split(/\r?\n/)[0], "id,customer,total");
    assert.equal(csv.split(/\r?\n/)[1], '1,"customer, ""1""",1.50');
    assert.equal(csv.split(/\r?\n/).length, 32, "header, 30 rows, final line end");
    const completed = s.fake.of("files.completeUploadExternal");
    assert.deepEqual(
      completed.map((c) => c.args.channel_id).sort(),
      [dm, `D${SLACK_USERS.olga}`].sort(),
      "the requester and the result policy's operator get the file, nobody else",
    );
    assert.deepEqual(completed[0]?.args.files, [
      { id: upload?.args.file_id, title: `Result of request #${id}` },
    ]);
  });

  test("the requester's result DM offers Run again, which opens the query form prefilled; the shared copy does not", async () => {
    const sql = `SELECT id FROM ${table} WHERE id <= 2 ORDER BY id`;
    const id = await ask(`query shop production "two ids" ${sql}`);
    s.fake.clear();
    await s.slack.click(SLACK_USERS.bob, SLACK_IDS.actions.approve, String(id));
    await waitForStatus(s.h, id, "succeeded");
    await s.fake.waitFor(
      "both result DMs",
      (calls) => calls.filter((c) => /Result of request/.test(textOf(c))).length >= 2,
    );
    await s.settle();
    const resultTo = (slackUser: string): SlackCall | undefined =>
      s.fake
        .of("chat.postMessage")
        .find((c) => c.args.channel === `D${slackUser}` && /Result of request/.test(textOf(c)));
    assert.deepEqual(buttonsOf(resultTo(SLACK_USERS.alice)), [SLACK_IDS.actions.runAgain]);
    assert.deepEqual(buttonsOf(resultTo(SLACK_USERS.olga)), [], "Run again is the requester's alone");

    s.fake.clear();
    await s.slack.click(SLACK_USERS.alice, SLACK_IDS.actions.runAgain, String(id), `D${SLACK_USERS.alice}`);
    await s.settle();
    const form = s.fake.of("views.open")[0]?.args.view as
      { callback_id: string; private_metadata?: string } | undefined;
    assert.equal(form?.callback_id, SLACK_IDS.views.query);
    assert.deepEqual(JSON.parse(form?.private_metadata ?? "{}"), { rerunOf: id });
    assert.match(JSON.stringify(form), new RegExp(`"initial_value":"${sql}"`), "prefilled with the SQL");
  });

  test("a write reports its affected rows to the requester", async () => {
    const id = await ask(`query shop staging "fix totals" UPDATE ${table} SET total = 0 WHERE id <= 3`);
    s.fake.clear();
    await s.slack.click(SLACK_USERS.carol, SLACK_IDS.actions.approve, String(id));
    await waitForStatus(s.h, id, "succeeded");
    await s.fake.waitFor("the requester's notice", (calls) =>
      calls.some((c) => c.args.channel === `D${SLACK_USERS.alice}` && /Succeeded/.test(textOf(c))),
    );
    await s.settle();
    const notice = s.fake
      .of("chat.postMessage")
      .find((c) => c.args.channel === `D${SLACK_USERS.alice}` && /Succeeded/.test(textOf(c)));
    assert.match(textOf(notice), /3 rows affected in \d+ ms/);
    assert.equal(s.fake.of("files.getUploadURLExternal").length, 0, "no file for a write");
  });

  test("every Web API method Slack saw is one the manifest grants a scope for", () => {
    assert.ok(s.fake.methodsSeen.size >= 5, [...s.fake.methodsSeen].join(", "));
    for (const m of s.fake.methodsSeen) assert.ok(m in SLACK_METHOD_SCOPES, m);
    for (const c of s.fake.calls.filter((x) => x.method !== "upload" && x.method !== "response_url")) {
      assert.equal(c.token, "xoxb-1111-2222-fake");
    }
  });
});
