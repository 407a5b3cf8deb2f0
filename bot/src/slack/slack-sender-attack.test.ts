/**
 * Attacks on the Slack outbox sender over the real store (SQLite, the real schema.sql): what it
 * costs while it waits, what a store hiccup does to a delivery, what coalescing does to the age
 * of the newest change, and who may touch a row once its lease has passed to another sender.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { DbwardError } from "@dbward/shared";
import { OutboxTestbed, T0, dm, textOf } from "../../../test/support/outbox-testbed.ts";
import { leaseDue, retryDeliveryAt, storeSlackOutbox } from "../store/slack-outbox-repo.ts";
import { SlackCallError } from "./slack-api.ts";
import type { OutboxStore } from "./slack-sender.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the Slack outbox sender under attack", () => {
  const t = new OutboxTestbed({
    retry: { attempts: 3, baseDelayMs: 0, maxDelayMs: 0 },
    // The production poll interval: the sender should look at the table about this often.
    pollMs: 5000,
  });
  beforeEach(() => t.setUp());
  afterEach(() => t.tearDown());

  /** The t.store, counting how often the sender reads the table. */
  function countingStore(overrides: Partial<OutboxStore> = {}): { rows: OutboxStore; reads: () => number } {
    const real = storeSlackOutbox(t.store);
    let reads = 0;
    return {
      rows: {
        ...real,
        leaseDue: (o) => {
          reads += 1;
          return real.leaseDue(o);
        },
        nextDueAt: (busy) => {
          reads += 1;
          return real.nextDueAt(busy);
        },
        ...overrides,
      },
      reads: () => reads,
    };
  }

  const rows = () =>
    t.store
      .selectFrom("slack_outbox")
      .select(["id", "lane", "status", "attempts", "last_error"])
      .orderBy("id")
      .execute();

  async function until(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
      await sleep(5);
    }
  }

  test("does not spin on the table while a delivery is in flight", async () => {
    await t.add(dm("U1", "slow"));
    const counted = countingStore();
    let release: (() => void) | undefined;
    const s = t.sender(() => new Promise<void>((r) => (release = r)), { store: counted.rows });
    await until("the delivery is running", () => release !== undefined);
    const before = counted.reads();
    await sleep(300);
    const during = counted.reads() - before;
    release?.();
    await s.idle();
    // One slow Slack call (up to 10 s each) must not cost the t.store hundreds of queries a second.
    assert.ok(during <= 10, `read the outbox ${during} times in 300 ms while one row was being sent`);
  });

  test("does not spin on the table while a lane's head waits for its retry", async () => {
    await t.add(dm("U1", "first"), dm("U1", "second"));
    const counted = countingStore();
    const seen: string[] = [];
    t.sender(
      async (d) => {
        if (textOf(d) === "first") throw new SlackCallError("chat.postMessage", "ratelimited", true, 60_000);
        seen.push(textOf(d));
      },
      { store: counted.rows, retry: { attempts: 5, baseDelayMs: 1000, maxDelayMs: 300_000 } },
    );
    await until("the head is rescheduled", async () => (await rows())[0]?.attempts === 1);
    const before = counted.reads();
    await sleep(300);
    const during = counted.reads() - before;
    assert.deepEqual(seen, [], "the second row waits behind the first, as it should");
    // The second row is "due" but cannot go; that is no reason to read the table in a loop.
    assert.ok(during <= 10, `read the outbox ${during} times in 300 ms while its only lane waited`);
  });

  test("a t.store hiccup while recording a delivery's progress does not give up the rest of it", async () => {
    await t.add({ kind: "result", request: 3 });
    const real = storeSlackOutbox(t.store);
    let hiccups = 1;
    const sent: string[] = [];
    const s = t.sender(
      async (_d, progress) => {
        await progress.once("dm:alice:message", async () => {
          sent.push("alice message");
        });
        await progress.once("dm:olga:message", async () => {
          sent.push("olga message");
        });
      },
      {
        store: {
          ...real,
          saveProgress: async (id, p) => {
            if (hiccups-- > 0) throw Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" });
            await real.saveProgress(id, p);
          },
        },
      },
    );
    await s.idle();
    // Olga's copy of the result must reach her: the t.store was busy for one write, Slack was fine.
    assert.ok(
      sent.includes("olga message"),
      `sent only ${JSON.stringify(sent)}; rows: ${JSON.stringify(await rows())}`,
    );
  });

  test("a redraw coalesced into an old waiting row still gets the full age limit from its own change", async () => {
    const hour = 3_600_000;
    assert.equal(await t.add({ kind: "request_post", request: 7 }), 1);
    // Much later (Slack was down, or the sender was), the request changes again: the waiting row
    // takes the new change over, so nothing new is written.
    t.now = T0 + hour - 60_000;
    assert.equal(await t.add({ kind: "request_post", request: 7 }), 0);
    t.now = T0 + hour + 60_000;
    let tries = 0;
    let drawn = 0;
    const gaveUp: string[] = [];
    const s = t.sender(
      async () => {
        tries += 1;
        if (tries === 1) throw new SlackCallError("chat.update", "ratelimited", true);
        drawn += 1;
      },
      {
        maxAgeMs: hour,
        retry: { attempts: 100, baseDelayMs: 0, maxDelayMs: 0 },
        onGaveUp: (kind, code) => gaveUp.push(`${kind}/${code}`),
      },
    );
    await s.idle();
    // The newest change is two minutes old: one rate limit must not drop its drawing.
    assert.deepEqual(gaveUp, [], "the newest state was given up on");
    assert.equal(drawn, 1);
  });

  test("a sender whose lease ran out cannot free the row another sender now holds", async () => {
    await t.add(dm("U1", "once"));
    const lease = { leaseMs: 30_000, limit: 1, busyLanes: new Set<string>() };
    const [a] = await leaseDue(t.store, { ...lease, now: t.clock.now() });
    assert.ok(a !== undefined, "sender A holds the row");
    // A stalls past its lease (a paused process, a blocked event loop); B takes the row over.
    t.now = T0 + 31_000;
    const [b] = await leaseDue(t.store, { ...lease, now: t.clock.now() });
    assert.equal(b?.id, a.id, "sender B holds the row");
    // A's Slack call then fails, and A records its retry: that must not touch B's lease.
    await retryDeliveryAt(t.store, a, { at: t.clock.now(), error: "network", now: t.clock.now() });
    const [c] = await leaseDue(t.store, { ...lease, now: t.clock.now() });
    assert.equal(c, undefined, "a third sender took the row B is still sending: Slack gets it again");
  });

  test("a t.store that refuses every read neither crashes the sender nor spins it", async () => {
    let reads = 0;
    const broken: OutboxStore = {
      ...storeSlackOutbox(t.store),
      leaseDue: () => {
        reads += 1;
        return Promise.reject(new Error("disk I/O error"));
      },
      nextDueAt: () => {
        reads += 1;
        return Promise.reject(new Error("disk I/O error"));
      },
    };
    t.sender(() => Promise.resolve(), { store: broken, pollMs: 100 });
    await sleep(350);
    assert.ok(reads >= 1 && reads <= 6, `read a broken t.store ${reads} times in 350 ms at a 100 ms poll`);
  });

  test("a row that keeps failing with an error of our own is retried within its attempts, then leaves its lane free", async () => {
    await t.add(dm("U1", "bug"), dm("U1", "after"));
    let tries = 0;
    const seen: string[] = [];
    const s = t.sender(
      async (d) => {
        if (textOf(d) === "bug") {
          tries += 1;
          throw new TypeError("cannot read properties of undefined");
        }
        seen.push(textOf(d));
      },
      { retry: { attempts: 3, baseDelayMs: 0, maxDelayMs: 0 } },
    );
    await s.idle();
    assert.equal(tries, 3, "a t.store hiccup may clear: tried again, but only as often as the policy allows");
    assert.deepEqual(seen, ["after"], "the failed row leaves its lane free");
    assert.equal((await rows())[0]?.status, "failed");
  });

  test("a coded error (the request is gone) is tried once", async () => {
    await t.add(dm("U1", "gone"));
    let tries = 0;
    const s = t.sender(async () => {
      tries += 1;
      throw new DbwardError("request.not_found", "no request #9");
    });
    await s.idle();
    assert.equal(tries, 1);
    assert.equal((await rows())[0]?.status, "failed");
  });
});
