import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BotError, createBotClient } from "./bot-client.ts";
import { Secret } from "./secret.ts";

interface Seen {
  url: string;
  init: RequestInit;
}

function fakeFetch(answer: (url: string) => Response | Promise<Response>): {
  fetch: typeof fetch;
  seen: Seen[];
} {
  const seen: Seen[] = [];
  const f = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = input instanceof Request ? input.url : String(input);
    seen.push({ url, init: init ?? {} });
    return Promise.resolve(answer(url));
  };
  return { fetch: f as typeof fetch, seen };
}

const json = (status: number, body: unknown): Response =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

const CLAIM = {
  job_id: "job-1",
  request_id: 4,
  execution: 1,
  token: "t.t.t",
  sql: "SELECT 1",
  database: "app",
  environment: "production",
  operation: "read",
  lease_expires_at: "2030-01-01T00:01:00.000Z",
  heartbeat_interval_ms: 5000,
  statement_timeout_ms: 30000,
  row_cap: 1000,
};

function client(f: typeof fetch, botUrl = "https://bot.example.com/dbward/") {
  return createBotClient({ botUrl, agentToken: new Secret("agent-tok"), fetch: f, requestTimeoutMs: 200 });
}

describe("bot client", () => {
  test("sends the agent token as a bearer token and JSON bodies under the bot's path prefix", async () => {
    const { fetch, seen } = fakeFetch(() => json(200, { jobs: [] }));
    await client(fetch).poll({
      capabilities: [{ database: "app", environment: "production", operations: ["read"] }],
      wait_ms: 100,
    });
    const [call] = seen;
    assert.ok(call !== undefined);
    assert.equal(call.url, "https://bot.example.com/dbward/api/agent/poll");
    assert.equal(call.init.method, "POST");
    const headers = new Headers(call.init.headers);
    assert.equal(headers.get("authorization"), "Bearer agent-tok");
    assert.equal(headers.get("content-type"), "application/json");
    assert.deepEqual(JSON.parse(String(call.init.body)), {
      capabilities: [{ database: "app", environment: "production", operations: ["read"] }],
      wait_ms: 100,
    });
  });

  test("refuses to follow redirects, which could carry the token elsewhere", async () => {
    const { fetch, seen } = fakeFetch(() => json(200, { jobs: [] }));
    await client(fetch).poll({ capabilities: [], wait_ms: 1 });
    assert.equal(seen[0]?.init.redirect, "error");
  });

  test("claims, heartbeats and submits results at the job's own URLs", async () => {
    const { fetch, seen } = fakeFetch((url) =>
      url.endsWith("/claim")
        ? json(200, CLAIM)
        : url.endsWith("/heartbeat")
          ? json(200, { lease_expires_at: "x", cancel: false })
          : new Response(null, { status: 204 }),
    );
    const c = client(fetch, "https://bot.example.com");
    assert.deepEqual(await c.claim("job/1"), CLAIM);
    assert.deepEqual(await c.heartbeat("job/1"), { lease_expires_at: "x", cancel: false });
    await c.submitResult("job/1", { outcome: "succeeded", duration_ms: 3 });
    assert.deepEqual(
      seen.map((s) => s.url),
      ["claim", "heartbeat", "result"].map((a) => `https://bot.example.com/api/agent/jobs/job%2F1/${a}`),
    );
    assert.deepEqual(JSON.parse(String(seen[2]?.init.body)), { outcome: "succeeded", duration_ms: 3 });
  });

  test("turns the bot's error body into a BotError with its status, code and message", async () => {
    const { fetch } = fakeFetch(() =>
      json(409, { error: { code: "request.invalid_transition", message: "already claimed" } }),
    );
    await assert.rejects(client(fetch).claim("job-1"), (err: BotError) => {
      assert.ok(err instanceof BotError);
      assert.deepEqual(
        [err.status, err.code, err.message],
        [409, "request.invalid_transition", "already claimed"],
      );
      return true;
    });
  });

  test("reports an error without a dbward error body as internal with the HTTP status", async () => {
    const { fetch } = fakeFetch(() => new Response("<html>bad gateway</html>", { status: 502 }));
    await assert.rejects(client(fetch).heartbeat("job-1"), { status: 502, code: "internal" });
  });

  test("refuses a success answer whose body does not match the protocol", async () => {
    const { fetch } = fakeFetch(() => json(200, { ...CLAIM, heartbeat_interval_ms: "soon" }));
    await assert.rejects(client(fetch).claim("job-1"), (err: BotError) =>
      /heartbeat_interval_ms/.test(err.message),
    );
  });

  test("reports an unreachable bot as status 0", async () => {
    const f = (() =>
      Promise.reject(
        new TypeError("fetch failed", { cause: new Error("connect ECONNREFUSED") }),
      )) as typeof fetch;
    await assert.rejects(
      client(f).claim("job-1"),
      (err: BotError) => err.status === 0 && /ECONNREFUSED/.test(err.message),
    );
  });

  test("gives up on a call the bot does not answer in time", async () => {
    const f = ((_: unknown, init?: RequestInit) =>
      new Promise((_resolve, reject) =>
        init?.signal?.addEventListener("abort", () => reject(init.signal?.reason)),
      )) as typeof fetch;
    // AbortSignal.timeout's timer does not keep the process alive; a real socket would.
    const keepAlive = setTimeout(() => undefined, 5000);
    try {
      await assert.rejects(client(f).heartbeat("job-1"), { status: 0 });
    } finally {
      clearTimeout(keepAlive);
    }
  });

  test("never puts the agent token in an error message", async () => {
    const { fetch } = fakeFetch(() => json(401, { error: { code: "auth.invalid", message: "bad token" } }));
    await assert.rejects(
      client(fetch).poll({ capabilities: [], wait_ms: 1 }),
      (err: BotError) => !err.message.includes("agent-tok"),
    );
  });
});

describe("bot client schema reports", () => {
  test("posts the report with the session to /api/agent/schema", async () => {
    const { fetch, seen } = fakeFetch(() => json(200, { ok: true }));
    const client = createBotClient({
      botUrl: "https://bot.example",
      agentToken: new Secret("tok"),
      session: "s-1",
      fetch,
    });
    await client.reportSchema({
      database: "app",
      environment: "production",
      collected_at: "2030-01-01T00:00:00.000Z",
      tables: [],
      truncated: false,
    });
    assert.equal(seen[0]?.url, "https://bot.example/api/agent/schema");
    assert.deepEqual(JSON.parse(String(seen[0]?.init.body)), {
      database: "app",
      environment: "production",
      collected_at: "2030-01-01T00:00:00.000Z",
      tables: [],
      truncated: false,
      session: "s-1",
    });
  });

  test("a bot without the route fails with its 404", async () => {
    const { fetch } = fakeFetch(() =>
      json(404, { error: { code: "request.not_found", message: "no route" } }),
    );
    const client = createBotClient({ botUrl: "https://bot.example", agentToken: new Secret("tok"), fetch });
    await assert.rejects(
      client.reportSchema({
        database: "app",
        environment: "production",
        collected_at: "x",
        tables: [],
        truncated: false,
      }),
      (err: unknown) => err instanceof BotError && err.status === 404,
    );
  });
});
