/**
 * `Idempotency-Key` on POST /api/requests, over real HTTP against a real bot (docs/api.md
 * #idempotency-key): a retried creation answers the request the first call made, whatever the
 * race; another body under the key is refused; keys are per requester and last 24 hours.
 */
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseBotConfig, startBot } from "@dbward/bot";
import type { AuditListView, ErrorBody, RequestListView, RequestView } from "@dbward/shared";
import { pino } from "pino";
import { startBotHarness, TEST_CONFIG, type BotHarness } from "./support/bot-harness.ts";

/** Room for the 200-call race: the per-user creation limit is not what this suite tests. */
const CONFIG = `${TEST_CONFIG}
http:
  rate_limits:
    request_create: { burst: 1000, per_minute: 1000 }
`;

interface Answer {
  status: number;
  replayed: string | null;
  body: unknown;
}

async function create(url: string, token: string, key: string | undefined, body: unknown): Promise<Answer> {
  const res = await fetch(`${url}/api/requests`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      ...(key !== undefined ? { "idempotency-key": key } : {}),
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, replayed: res.headers.get("idempotent-replayed"), body: await res.json() };
}

let n = 0;
/** A body whose SQL no other test uses. */
const freshBody = () => ({
  database: "shop",
  environment: "staging",
  sql: `UPDATE orders SET state = 'x' WHERE id = ${++n}`,
  reason: "fix one order",
});

const idOf = (a: Answer): number => (a.body as RequestView).id;
const codeOf = (a: Answer): string => (a.body as ErrorBody).error.code;

describe("Idempotency-Key on request creation", () => {
  let h: BotHarness;
  let alice: string;
  before(async () => {
    h = await startBotHarness(CONFIG);
    alice = await h.tokenFor("alice");
  });
  after(async () => h.stop());

  async function createdEventsFor(id: number): Promise<number> {
    const res = await h.call(h.adminToken, "GET", `/api/audit?action=request.created&target=request:${id}`);
    return (res.body as AuditListView).events.length;
  }

  async function requestsWithSql(sql: string): Promise<RequestView[]> {
    const res = await h.call(alice, "GET", "/api/requests?mine=true&limit=500");
    return (res.body as RequestListView).requests.filter((r) => r.sql === sql);
  }

  test("a retry with the same key and body answers the first request, marked replayed, and creates and audits nothing", async () => {
    const body = freshBody();
    const first = await create(h.url, alice, "retry-1", body);
    assert.equal(first.status, 201);
    assert.equal(first.replayed, null);
    // Same fields and values in another order and spacing: the same body.
    const reordered = `{ "reason": "${body.reason}", "sql": "${body.sql}",
      "environment": "staging", "database": "shop" }`;
    const again = await create(h.url, alice, "retry-1", reordered);
    assert.equal(again.status, 201);
    assert.equal(again.replayed, "true");
    assert.equal(idOf(again), idOf(first));
    assert.equal((await requestsWithSql(body.sql)).length, 1);
    assert.equal(await createdEventsFor(idOf(first)), 1);
  });

  test("another body under a used key is 409 request.idempotency_conflict naming the request, and nothing is created", async () => {
    const body = freshBody();
    const first = await create(h.url, alice, "conflict-1", body);
    const other = { ...body, reason: "a different reason" };
    const refused = await create(h.url, alice, "conflict-1", other);
    assert.equal(refused.status, 409);
    assert.equal(codeOf(refused), "request.idempotency_conflict");
    assert.match((refused.body as ErrorBody).error.message, new RegExp(`#${idOf(first)}`));
    assert.equal((await requestsWithSql(body.sql)).length, 1);
  });

  test("keys are per requester: two users with one key get two requests", async () => {
    const dave = await h.tokenFor("dave");
    const body = freshBody();
    const a = await create(h.url, alice, "shared-key", body);
    const d = await create(h.url, dave, "shared-key", body);
    assert.equal(a.status, 201);
    assert.equal(d.status, 201);
    assert.equal(d.replayed, null);
    assert.notEqual(idOf(a), idOf(d));
    assert.equal((d.body as RequestView).requester, "dave");
  });

  test("a refused creation stores no key: the same key may be used once the body is right", async () => {
    const body = freshBody();
    const bad = await create(h.url, alice, "after-refusal", { ...body, reason: "" });
    assert.equal(bad.status, 400);
    const good = await create(h.url, alice, "after-refusal", body);
    assert.equal(good.status, 201);
    assert.equal(good.replayed, null);
  });

  for (const [what, key] of [
    ["an empty key", ""],
    ["a key of 256 characters", "k".repeat(256)],
    ["a key with a tab", "a\tb"],
  ] as const) {
    test(`refuses ${what} with 400 request.invalid saying what is allowed`, async () => {
      const refused = await create(h.url, alice, key, freshBody());
      assert.equal(refused.status, 400);
      assert.equal(codeOf(refused), "request.invalid");
      assert.match((refused.body as ErrorBody).error.message, /1-255 printable ASCII/);
    });
  }

  test("refuses a key outside ASCII and two Idempotency-Key headers with 400", async () => {
    const send = (key: string | string[]): Promise<{ status: number; body: ErrorBody }> =>
      new Promise((resolve, reject) => {
        const payload = JSON.stringify(freshBody());
        const req = httpRequest(`${h.url}/api/requests`, {
          method: "POST",
          headers: { authorization: `Bearer ${alice}`, "content-type": "application/json" },
        });
        // An array goes out as one header line per value.
        req.setHeader("idempotency-key", key);
        req.on("response", (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              body: JSON.parse(Buffer.concat(chunks).toString()) as ErrorBody,
            }),
          );
        });
        req.on("error", reject);
        req.end(payload);
      });
    const twice = await send(["one", "two"]);
    assert.equal(twice.status, 400);
    assert.equal(twice.body.error.code, "request.invalid");
    const latin1 = await send("clé");
    assert.equal(latin1.status, 400);
    assert.equal(latin1.body.error.code, "request.invalid");
  });

  test("200 concurrent creations with one key make exactly one request and one audit event", async () => {
    const body = freshBody();
    const answers = await Promise.all(
      Array.from({ length: 200 }, () => create(h.url, alice, "race-200", body)),
    );
    assert.deepEqual(
      answers.filter((a) => a.status !== 201).map((a) => a.body),
      [],
    );
    const ids = new Set(answers.map(idOf));
    assert.equal(ids.size, 1);
    assert.equal(answers.filter((a) => a.replayed === null).length, 1);
    assert.equal(answers.filter((a) => a.replayed === "true").length, 199);
    assert.equal((await requestsWithSql(body.sql)).length, 1);
    const [id] = ids;
    assert.equal(await createdEventsFor(id ?? 0), 1);
  });
});

describe("Idempotency-Key expiry", () => {
  test("a key is remembered for 24 hours, then a call with it creates a new request", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "dbward-idem-"));
    let now = new Date("2030-01-01T00:00:00.000Z");
    const bot = await startBot({
      config: parseBotConfig(CONFIG),
      dataDir,
      env: {},
      logger: pino({ level: "silent" }),
      listen: { host: "127.0.0.1", port: 0 },
      clock: { now: () => now },
    });
    try {
      const admin = bot.bootstrapSecrets.find((s) => s.kind === "user")?.secret ?? "";
      const made = await fetch(`${bot.url}/api/tokens`, {
        method: "POST",
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
        body: JSON.stringify({ user: "alice", name: "test" }),
      });
      const token = ((await made.json()) as { token: string }).token;
      const body = freshBody();
      const first = await create(bot.url, token, "daily", body);
      assert.equal(first.status, 201);
      now = new Date(now.getTime() + 24 * 3600_000 - 1000);
      const within = await create(bot.url, token, "daily", body);
      assert.equal(within.replayed, "true");
      assert.equal(idOf(within), idOf(first));
      now = new Date(now.getTime() + 2000);
      const later = await create(bot.url, token, "daily", body);
      assert.equal(later.status, 201);
      assert.equal(later.replayed, null);
      assert.notEqual(idOf(later), idOf(first));
      // The expired row was pruned when the new one was stored: the key now names the new request.
      const replayOfNew = await create(bot.url, token, "daily", body);
      assert.equal(idOf(replayOfNew), idOf(later));
    } finally {
      await bot.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
