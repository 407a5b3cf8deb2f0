/**
 * The rate limits on the state store: the buckets behave as token buckets, a refused client
 * writes nothing, and two stores opened on one database (two bot instances, or one restarted)
 * count into the same bucket — on SQLite and on PostgreSQL.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { DbwardError } from "@dbward/shared";
import { dropStateDatabase, ensureStateDatabase } from "../../../test/support/postgres-state.ts";
import { parseBotConfig, type BotConfig } from "../config/bot-config.ts";
import { openPostgresStore } from "../store/open-postgres-store.ts";
import { openStore, type Store } from "../store/open-store.ts";
import { takeRateToken } from "../store/rate-buckets-repo.ts";
import { createRateLimits, pruneRateBuckets, type RateLimits } from "./rate-limits.ts";

const CONFIG = parseBotConfig(`
databases: [{ name: shop, dialect: postgres, environments: [production] }]
workflows: [{ name: reads, operations: [read], auto_approve: always }]
users: [{ id: alice, name: Alice, roles: [requester] }]
http: { rate_limits: { request_create: { burst: 3, per_minute: 6 }, auth_failures: { burst: 2, per_minute: 1 } } }
`);

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = Date.UTC(2030, 0, 1);
  return { now: () => t, advance: (ms) => (t += ms) };
}

/** The `rate.limited` refusal's wait in seconds, or "ok". */
async function outcome(work: Promise<void>): Promise<number | "ok"> {
  try {
    await work;
    return "ok";
  } catch (err) {
    assert.ok(err instanceof DbwardError && err.code === "rate.limited", String(err));
    return err.details?.retry_after_seconds as number;
  }
}

const rows = async (store: Store) =>
  store
    .selectFrom("rate_buckets")
    .select(["name", "key", "milli_tokens", "updated_ms"])
    .orderBy("key")
    .execute();

/** Two handles on one state database, as two bot instances (or a bot and its restart) hold. */
function eachDialect(suite: (stores: () => [Store, Store]) => void): void {
  for (const dialect of ["sqlite", "postgres"] as const) {
    describe(`rate limits on the state store (${dialect})`, () => {
      const key = `rate-limits-${process.pid}`;
      let dir: string | undefined;
      let pair: [Store, Store] | undefined;
      before(async () => {
        if (dialect === "sqlite") {
          const d = mkdtempSync(join(tmpdir(), "dbward-limits-"));
          dir = d;
          pair = [openStore(d), openStore(d)];
        } else {
          await dropStateDatabase(key);
          const url = await ensureStateDatabase(key);
          const open = () => openPostgresStore({ url, poolSize: 4, onIdleError: () => undefined });
          pair = [await open(), await open()];
        }
      });
      after(async () => {
        await Promise.all(pair?.map((s) => s.destroy()) ?? []);
        if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
        if (dialect === "postgres") await dropStateDatabase(key);
      });
      suite(() => {
        if (pair === undefined) throw new Error("the stores open in before()");
        return pair;
      });
    });
  }
}

eachDialect((stores) => {
  const limitsOn = (store: Store, now: () => number, config: () => BotConfig = () => CONFIG): RateLimits =>
    createRateLimits(store, config, now);

  test("allows a burst, then refuses with the seconds until a token is back", async () => {
    const c = clock();
    const l = limitsOn(stores()[0], c.now);
    for (let i = 0; i < 3; i++) assert.equal(await outcome(l.assertCanCreateRequest("burst")), "ok");
    assert.equal(await outcome(l.assertCanCreateRequest("burst")), 10);
  });

  test("refills at the per-minute rate and never beyond the burst", async () => {
    const c = clock();
    const l = limitsOn(stores()[0], c.now);
    for (let i = 0; i < 3; i++) await l.assertCanCreateRequest("refill");
    c.advance(10_000);
    assert.equal(await outcome(l.assertCanCreateRequest("refill")), "ok");
    assert.equal(await outcome(l.assertCanCreateRequest("refill")), 10);
    c.advance(3_600_000);
    for (let i = 0; i < 3; i++) assert.equal(await outcome(l.assertCanCreateRequest("refill")), "ok");
    assert.notEqual(await outcome(l.assertCanCreateRequest("refill")), "ok");
  });

  test("keys and limits are independent", async () => {
    const c = clock();
    const l = limitsOn(stores()[0], c.now);
    for (let i = 0; i < 3; i++) await l.assertCanCreateRequest("ind-a");
    assert.notEqual(await outcome(l.assertCanCreateRequest("ind-a")), "ok");
    assert.equal(await outcome(l.assertCanCreateRequest("ind-b")), "ok");
    assert.equal(await outcome(l.assertAuthAllowed("ind-a")), "ok", "a user id is not an address");
  });

  test("checking an address writes nothing; failures count until it is refused", async () => {
    const c = clock();
    const [store] = stores();
    const l = limitsOn(store, c.now);
    for (let i = 0; i < 5; i++) assert.equal(await outcome(l.assertAuthAllowed("10.0.0.1")), "ok");
    assert.deepEqual(
      (await rows(store)).filter((r) => r.key === "10.0.0.1"),
      [],
    );
    await l.recordAuthFailure("10.0.0.1");
    assert.equal(await outcome(l.assertAuthAllowed("10.0.0.1")), "ok");
    await l.recordAuthFailure("10.0.0.1");
    assert.equal(await outcome(l.assertAuthAllowed("10.0.0.1")), 60);
  });

  test("a client already refused causes no store write, however often it calls", async () => {
    const c = clock();
    const [store] = stores();
    const l = limitsOn(store, c.now);
    for (let i = 0; i < 3; i++) await l.assertCanCreateRequest("flood");
    await l.recordAuthFailure("10.0.0.9");
    await l.recordAuthFailure("10.0.0.9");
    const mine = async () => (await rows(store)).filter((r) => r.key === "flood" || r.key === "10.0.0.9");
    const before = await mine();
    for (let i = 0; i < 20; i++) {
      c.advance(100);
      assert.notEqual(await outcome(l.assertCanCreateRequest("flood")), "ok");
      await l.recordAuthFailure("10.0.0.9");
      assert.notEqual(await outcome(l.assertAuthAllowed("10.0.0.9")), "ok");
    }
    assert.deepEqual(await mine(), before, "not one row changed");
  });

  test("the take is one atomic statement: a refused take writes nothing", async () => {
    const [store] = stores();
    const c = clock();
    const rule = { burst: 1, per_minute: 1 };
    assert.equal(await takeRateToken(store, "request_create", "atomic", rule, c.now()), true);
    const before = await rows(store);
    assert.equal(await takeRateToken(store, "request_create", "atomic", rule, c.now() + 1000), false);
    assert.deepEqual(await rows(store), before);
    assert.equal(await takeRateToken(store, "request_create", "atomic", rule, c.now() + 60_000), true);
  });

  test("two instances on one store share one bucket", async () => {
    const c = clock();
    const [a, b] = stores().map((s) => limitsOn(s, c.now));
    assert.ok(a !== undefined && b !== undefined);
    await a.assertCanCreateRequest("shared");
    await b.assertCanCreateRequest("shared");
    await a.assertCanCreateRequest("shared");
    assert.equal(await outcome(b.assertCanCreateRequest("shared")), 10, "b sees what a took");
    await b.recordAuthFailure("192.0.2.7");
    await a.recordAuthFailure("192.0.2.7");
    assert.notEqual(await outcome(a.assertAuthAllowed("192.0.2.7")), "ok");
    assert.notEqual(await outcome(b.assertAuthAllowed("192.0.2.7")), "ok");
  });

  test("takes racing on two instances never hand out more than the burst", async () => {
    const c = clock();
    const [a, b] = stores().map((s) => limitsOn(s, c.now));
    assert.ok(a !== undefined && b !== undefined);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => outcome((i % 2 === 0 ? a : b).assertCanCreateRequest("race"))),
    );
    assert.equal(results.filter((r) => r === "ok").length, 3);
  });

  test("a restart keeps the bucket: a new RateLimits on the store refuses at once", async () => {
    const c = clock();
    const [store, other] = stores();
    const first = limitsOn(store, c.now);
    for (let i = 0; i < 3; i++) await first.assertCanCreateRequest("restart");
    assert.equal(await outcome(limitsOn(other, c.now).assertCanCreateRequest("restart")), 10);
  });

  test("a reload of the rules applies at once to the stored bucket", async () => {
    const c = clock();
    let config = CONFIG;
    const l = limitsOn(stores()[0], c.now, () => config);
    for (let i = 0; i < 3; i++) await l.assertCanCreateRequest("reload");
    assert.notEqual(await outcome(l.assertCanCreateRequest("reload")), "ok");
    config = {
      ...CONFIG,
      http: {
        ...CONFIG.http,
        rate_limits: { ...CONFIG.http.rate_limits, request_create: { burst: 3, per_minute: 600 } },
      },
    };
    c.advance(100);
    assert.equal(await outcome(l.assertCanCreateRequest("reload")), "ok");
  });

  test("pruning forgets the buckets that are full again and keeps the others", async () => {
    const c = clock();
    const [store] = stores();
    const l = limitsOn(store, c.now);
    await l.assertCanCreateRequest("prune-old");
    c.advance(31_000);
    await l.assertCanCreateRequest("prune-new");
    await pruneRateBuckets(store, CONFIG, c.now());
    const keys = (await rows(store)).map((r) => r.key);
    assert.ok(!keys.includes("prune-old"), "full again after 30 s: forgotten");
    assert.ok(keys.includes("prune-new"));
    for (let i = 0; i < 2; i++) await l.assertCanCreateRequest("prune-new");
    assert.notEqual(
      await outcome(l.assertCanCreateRequest("prune-new")),
      "ok",
      "the kept bucket still limits",
    );
  });
});
