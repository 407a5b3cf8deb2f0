/**
 * `dbward mcp` as an AI assistant's client sees it: a real MCP client spawns the real command,
 * talks JSON-RPC over stdio, and can propose requests but never approve them (SECURITY.md
 * principle 7: proposals are not permissions).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { RequestView } from "@dbward/shared";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";

type TextResult = { content: { type: string; text: string }[]; isError?: boolean };

describe("dbward mcp", () => {
  let h: BotHarness;
  let client: Client;

  before(async () => {
    h = await startBotHarness();
    client = new Client({ name: "test-assistant", version: "1.0.0" });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ["bin/dbward.mjs", "mcp"],
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
    assert.deepEqual(names, ["get_request", "get_result", "list_my_requests", "request_sql", "review_sql"]);
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
