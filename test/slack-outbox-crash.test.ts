/**
 * The Slack outbox across a crash, with real processes: a channel post and the approvers' DMs
 * that Slack could not take before the bot was killed with SIGKILL are delivered by the next
 * start on the same data directory, once each, in order; and the outbox is empty afterwards.
 * Slack is the fake Web API, made unreachable (its socket closed) as in a network outage.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { openStore } from "@dbward/bot";
import { FakeSlack } from "./support/fake-slack.ts";
import { freePort, killAllProcesses, startBotProcess, token } from "./support/processes.ts";

const ADMIN = token("dbw_");
const CHANNEL = "C0APPROVALS";

function config(port: number): string {
  return `
listen: { host: 127.0.0.1, port: ${port} }
databases: [{ name: shop, dialect: postgres, environments: [staging] }]
workflows:
  - { name: writes, operations: [write], steps: [{ approvers: ["role:approver"] }] }
users:
  - { id: alice, name: Alice, slack_user_id: U0ALICE01, roles: [requester] }
  - { id: bob, name: Bob, slack_user_id: U0BOB0001, roles: [approver] }
  - { id: root, name: Root, roles: [admin] }
slack: { approvals_channel: ${CHANNEL} }
`;
}

describe("Slack deliveries survive a killed bot", () => {
  const dirs: string[] = [];
  after(() => {
    killAllProcesses();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test("a post and a DM Slack could not take before SIGKILL are sent by the next start, once each", async () => {
    const fake = await FakeSlack.start();
    const dir = mkdtempSync(join(tmpdir(), "dbward-outbox-crash-"));
    dirs.push(dir);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = { ...fake.env(), DBWARD_ADMIN_TOKEN: ADMIN };
    const first = await startBotProcess(dir, config(port), env);
    const alice = await issueToken(url, "alice");

    await fake.close();
    const res = await fetch(`${url}/api/requests`, {
      method: "POST",
      headers: { authorization: `Bearer ${alice}`, "content-type": "application/json" },
      body: JSON.stringify({
        database: "shop",
        environment: "staging",
        sql: "UPDATE orders SET status = 'shipped' WHERE id = 7",
        reason: "outbox crash test",
      }),
    });
    assert.equal(res.status, 201);
    const id = ((await res.json()) as { id: number }).id;
    await outboxUntil(dir, (rows) => rows.some((r) => r.lane === `request:${id}` && r.attempts >= 1));
    const queued = await outboxRows(dir);
    assert.deepEqual(
      queued.map((r) => r.kind),
      ["request_post", "thread_step", "approver_dms", "requester_notice"],
      "the change's deliveries were written with it, in the order they go out",
    );
    first.child.kill("SIGKILL");
    await first.exited;

    await fake.reopen();
    const second = await startBotProcess(dir, config(port), env);
    try {
      await fake.waitFor("the channel post and the approver's DM", (calls) => {
        const posts = calls.filter((c) => c.method === "chat.postMessage");
        return posts.some((c) => c.args.channel === CHANNEL) && posts.some((c) => c.args.channel !== CHANNEL);
      });
      await outboxUntil(dir, (rows) => rows.length === 0);
      const posts = fake.of("chat.postMessage");
      const channelPosts = posts.filter((c) => c.args.channel === CHANNEL && c.args.thread_ts === undefined);
      assert.equal(channelPosts.length, 1, "the channel post once");
      assert.match(JSON.stringify(channelPosts[0]?.args), new RegExp(`#${id}`));
      const opened = fake.of("conversations.open").map((c) => c.args.users);
      assert.ok(opened.includes("U0BOB0001"), "the approver's DM was opened");
      assert.equal(posts[0], channelPosts[0], "the post went first: one lane, in order");
    } finally {
      second.child.kill("SIGTERM");
      await second.exited;
      await fake.close();
    }
  });
});

async function issueToken(url: string, user: string): Promise<string> {
  const res = await fetch(`${url}/api/tokens`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: JSON.stringify({ user, name: "outbox-crash" }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return ((await res.json()) as { token: string }).token;
}

interface Row {
  lane: string;
  kind: string;
  attempts: number;
}

async function outboxRows(dir: string): Promise<Row[]> {
  const store = openStore(join(dir, "bot"), { readonly: true });
  try {
    const rows = await store
      .selectFrom("slack_outbox")
      .select(["lane", "delivery", "attempts"])
      .where("status", "=", "pending")
      .orderBy("id")
      .execute();
    return rows.map((r) => ({
      lane: r.lane,
      kind: (JSON.parse(r.delivery) as { kind: string }).kind,
      attempts: r.attempts,
    }));
  } finally {
    await store.destroy();
  }
}

async function outboxUntil(dir: string, check: (rows: Row[]) => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const rows = await outboxRows(dir);
    if (check(rows)) return;
    if (Date.now() > deadline) throw new Error(`the outbox never got there: ${JSON.stringify(rows)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
