/**
 * Attacks on `Idempotency-Key` request creation over real HTTP against a real bot, with the
 * default rate limits: bodies the canonical encoding cannot hash, racing retries under one key,
 * and a key reused for another environment.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { ErrorBody, RequestListView, RequestView } from "@dbward/shared";
import { startBotHarness, TEST_CONFIG, type BotHarness } from "./support/bot-harness.ts";

interface Answer {
  status: number;
  replayed: string | null;
  body: unknown;
}

async function create(url: string, token: string, key: string | undefined, body: string): Promise<Answer> {
  const res = await fetch(`${url}/api/requests`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      ...(key !== undefined ? { "idempotency-key": key } : {}),
    },
    body,
  });
  return { status: res.status, replayed: res.headers.get("idempotent-replayed"), body: await res.json() };
}

let n = 0;
const freshBody = (): Record<string, unknown> => ({
  database: "shop",
  environment: "staging",
  sql: `UPDATE orders SET state = 'attack' WHERE id = ${++n}`,
  reason: "idempotency attack",
});
const codeOf = (a: Answer): string => (a.body as ErrorBody).error?.code ?? "";

describe("Idempotency-Key under attack (default rate limits)", () => {
  let h: BotHarness;
  let alice: string;
  before(async () => {
    h = await startBotHarness(TEST_CONFIG);
    alice = await h.tokenFor("alice");
  });
  after(async () => h.stop());

  test("a keyed body with a number JSON cannot represent is 400 request.invalid, as without a key", async () => {
    // JSON.parse reads 1e999 as Infinity, which the canonical encoding refuses to hash.
    const body = JSON.stringify({ ...freshBody(), reason: "x" }).replace('"reason":"x"', '"reason":1e999');
    const unkeyed = await create(h.url, alice, undefined, body);
    assert.equal(unkeyed.status, 400, JSON.stringify(unkeyed.body));
    const keyed = await create(h.url, alice, "inf-1", body);
    assert.deepEqual(
      { status: keyed.status, code: codeOf(keyed) },
      { status: 400, code: "request.invalid" },
      JSON.stringify(keyed.body),
    );
  });

  test("racing retries under one key all answer the one request, whatever the creation limit", async () => {
    // The default creation limit is a burst of 30: 40 copies of one call are one request.
    const body = JSON.stringify(freshBody());
    const answers = await Promise.all(
      Array.from({ length: 40 }, () => create(h.url, alice, "race-40", body)),
    );
    const refused = answers.filter((a) => a.status !== 201).map((a) => `${a.status} ${codeOf(a)}`);
    assert.deepEqual(refused, [], "retries of a call that made its request were refused");
    assert.equal(new Set(answers.map((a) => (a.body as RequestView).id)).size, 1);
  });

  test("the same key for another environment is a conflict, never the first request", async () => {
    const first = freshBody();
    const a = await create(h.url, alice, "db-swap", JSON.stringify(first));
    assert.equal(a.status, 201);
    const b = await create(h.url, alice, "db-swap", JSON.stringify({ ...first, environment: "production" }));
    assert.equal(b.status, 409);
    assert.equal(codeOf(b), "request.idempotency_conflict");
    const list = (await h.call(alice, "GET", "/api/requests?mine=true&limit=500")).body as RequestListView;
    assert.equal(list.requests.filter((r) => r.sql === first.sql).length, 1);
  });
});
