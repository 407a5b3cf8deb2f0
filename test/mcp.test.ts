/**
 * `dbward mcp` as an AI assistant's client sees it: a real MCP client spawns the real command,
 * talks JSON-RPC over stdio, and can propose requests, run a finished one again as a new
 * request, or Run now an approved one of its user's, but never approve them (SECURITY.md principle 7: proposals are not permissions).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { RequestView } from "@dbward/shared";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";
import { DBWARD_BIN } from "./support/processes.ts";

type TextResult = { content: { type: string; text: string }[]; isError?: boolean };

const WRITE = {
  database: "legacy",
  environment: "production",
  sql: "UPDATE t SET a = 1 WHERE id = 9",
  reason: "fix row 9",
};

describe("dbward mcp", () => {
  let h: BotHarness;
  let client: Client;

  before(async () => {
    h = await startBotHarness();
    client = new Client({ name: "test-assistant", version: "1.0.0" });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [DBWARD_BIN, "mcp"],
      env: { PATH: process.env.PATH ?? "", DBWARD_URL: h.url, DBWARD_TOKEN: await h.tokenFor("alice") },
      stderr: "pipe",
    });
    await client.connect(transport);
  });
  after(async () => {
    await client.close();
    await h.stop();
  });

  const call = async (name: string, args: Record<string, unknown>): Promise<TextResult> =>
    (await client.callTool({ name, arguments: args })) as TextResult;

  test("offers tools to review, request and follow SQL, and none to approve or reject", async () => {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name).sort();
    assert.deepEqual(names, [
      "get_plan",
      "get_request",
      "get_result",
      "list_my_requests",
      "request_sql",
      "rerun_request",
      "review_sql",
      "run_request",
    ]);
    assert.ok(!names.some((n) => /approve|reject|cancel/.test(n)));
  });

  test("a request made through MCP waits for human approval like any other", async () => {
    const res = await call("request_sql", {
      database: "legacy",
      environment: "production",
      sql: "UPDATE t SET a = 1 WHERE id = 7",
      reason: "assistant proposal",
    });
    assert.equal(res.isError, undefined);
    const id = Number(/Request #(\d+) was created/.exec(res.content[0]?.text ?? "")?.[1]);
    assert.ok(id > 0);
    const view = (await h.call(await h.tokenFor("olga"), "GET", `/api/requests/${id}`)).body as RequestView;
    assert.equal(view.status, "pending_approval");
    assert.equal(view.requester, "alice");
  });

  /** A write made by `user` through the API and cancelled by them: finished, so it may run again. */
  async function cancelledWrite(user: string): Promise<number> {
    const token = await h.tokenFor(user);
    const made = await h.call(token, "POST", "/api/requests", WRITE);
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const id = (made.body as RequestView).id;
    const done = await h.call(token, "POST", `/api/requests/${id}/cancel`, { reason: "later" });
    assert.equal((done.body as RequestView).status, "cancelled");
    return id;
  }
  const createdId = (res: TextResult): number =>
    Number(/Request #(\d+) was created/.exec(res.content[0]?.text ?? "")?.[1]);

  test("rerun_request runs a finished request again as a new linked request that waits for approval", async () => {
    const original = await cancelledWrite("alice");
    const res = await call("rerun_request", { id: original });
    assert.equal(res.isError, undefined, res.content[0]?.text);
    const text = res.content[0]?.text ?? "";
    assert.match(text, new RegExp(`Run again of #${original}\\b`));
    assert.match(text, new RegExp(`to run #${original} again\\. It runs only after the approvals`));
    const id = createdId(res);
    assert.ok(id > original);
    const view = (await h.call(await h.tokenFor("olga"), "GET", `/api/requests/${id}`)).body as RequestView;
    assert.equal(view.status, "pending_approval", "the link is no shortcut past approval");
    assert.equal(view.rerun_of, original);
    assert.equal(view.requester, "alice", "it has the user's rights, no more");
    assert.deepEqual(
      [view.database, view.environment, view.sql, view.reason],
      [WRITE.database, WRITE.environment, WRITE.sql, WRITE.reason],
    );
  });

  test("rerun_request takes a new reason, and the same idempotency key answers the same request", async () => {
    const original = await cancelledWrite("alice");
    const args = { id: original, reason: "second try", idempotency_key: `rerun-${original}` };
    const first = await call("rerun_request", args);
    const again = await call("rerun_request", args);
    assert.equal(createdId(again), createdId(first));
    const view = (await h.call(await h.tokenFor("olga"), "GET", `/api/requests/${createdId(first)}`))
      .body as RequestView;
    assert.equal(view.reason, "second try");
  });

  test("rerun_request of a request not yet finished is refused with what to do, and creates nothing", async () => {
    const pending = (await h.call(await h.tokenFor("alice"), "POST", "/api/requests", WRITE))
      .body as RequestView;
    const count = async () =>
      ((await h.call(await h.tokenFor("olga"), "GET", "/api/requests")).body as { requests: unknown[] })
        .requests.length;
    const before = await count();
    const res = await call("rerun_request", { id: pending.id });
    assert.equal(res.isError, true);
    assert.match(res.content[0]?.text ?? "", /not finished: only a finished request can be run again/);
    assert.match(res.content[0]?.text ?? "", /request\.invalid_transition/);
    assert.equal(await count(), before);
  });

  test("get_plan of a request without a plan says why, as the bot does", async () => {
    const pending = (await h.call(await h.tokenFor("alice"), "POST", "/api/requests", WRITE))
      .body as RequestView;
    const res = await call("get_plan", { id: pending.id });
    assert.equal(res.isError, true);
    assert.match(res.content[0]?.text ?? "", /has no plan: its plan is pending/);
  });

  test("run_request of a request whose workflow runs on approval is refused and changes nothing", async () => {
    const pending = (await h.call(await h.tokenFor("alice"), "POST", "/api/requests", WRITE))
      .body as RequestView;
    const res = await call("run_request", { id: pending.id });
    assert.equal(res.isError, true);
    assert.match(res.content[0]?.text ?? "", /runs as soon as it is approved/);
    const after = (await h.call(await h.tokenFor("olga"), "GET", `/api/requests/${pending.id}`))
      .body as RequestView;
    assert.equal(after.status, "pending_approval");
  });

  test("rerun_request of someone else's request is refused as not found to a requester who cannot see it", async () => {
    const daves = await cancelledWrite("dave");
    const res = await call("rerun_request", { id: daves });
    assert.equal(res.isError, true);
    assert.match(res.content[0]?.text ?? "", /request\.not_found/);
  });

  test("review_sql reports the class and workflow without creating anything", async () => {
    const before = (
      (await h.call(await h.tokenFor("olga"), "GET", "/api/requests")).body as { requests: unknown[] }
    ).requests.length;
    const res = await call("review_sql", {
      database: "shop",
      environment: "production",
      sql: "DELETE FROM orders WHERE id = 1",
    });
    assert.match(res.content[0]?.text ?? "", /"operation": "write"/);
    assert.match(res.content[0]?.text ?? "", /shop-prod-writes/);
    const afterCount = (
      (await h.call(await h.tokenFor("olga"), "GET", "/api/requests")).body as { requests: unknown[] }
    ).requests.length;
    assert.equal(afterCount, before);
  });

  test("a refusal from the bot comes back as an error result the assistant can read", async () => {
    const res = await call("request_sql", {
      database: "nope",
      environment: "production",
      sql: "SELECT 1",
      reason: "x",
    });
    assert.equal(res.isError, true);
    assert.match(res.content[0]?.text ?? "", /unknown database nope/);
  });

  test("answers show SQL with invisible characters escaped, never raw (Trojan Source)", async () => {
    const sql = "UPDATE t SET a = 1 WHERE id = 8 /*\u202e\u200b*/";
    const created = await call("request_sql", { database: "shop", environment: "staging", sql, reason: "x" });
    const id = Number(/Request #(\d+) was created/.exec(created.content[0]?.text ?? "")?.[1]);
    const shown = await call("get_request", { id });
    const review = await call("review_sql", { database: "shop", environment: "staging", sql });
    for (const res of [created, shown]) {
      const text = res.content[0]?.text ?? "";
      assert.ok(text.includes("/*⟨U+202E⟩⟨U+200B⟩*/"), text);
      assert.ok(!/[\u202e\u200b]/u.test(text), "no raw invisible character");
    }
    assert.match(review.content[0]?.text ?? "", /invisible_characters/);
    assert.ok(!/[\u202e\u200b]/u.test(review.content[0]?.text ?? ""));
    const view = (await h.call(await h.tokenFor("olga"), "GET", `/api/requests/${id}`)).body as RequestView;
    assert.equal(view.sql, sql, "the stored SQL keeps the characters themselves");
  });
});
