import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { OutboxTestbed, T0, dm, textOf } from "../../../test/support/outbox-testbed.ts";
import { leaseDue } from "../store/slack-outbox-repo.ts";
import { SlackCallError } from "./slack-api.ts";

describe("the Slack outbox sender", () => {
  const t = new OutboxTestbed({ retry: { attempts: 3, baseDelayMs: 1000, maxDelayMs: 60_000 }, pollMs: 20 });
  beforeEach(() => t.setUp());
  afterEach(() => t.tearDown());

  const rows = () =>
    t.store
      .selectFrom("slack_outbox")
      .select(["id", "lane", "status", "attempts", "next_attempt_at", "last_error"])
      .orderBy("id")
      .execute();

  async function until(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  test("delivers one lane's rows in the order they were queued, and deletes each once Slack took it", async () => {
    await t.add(dm("U1", "a"), dm("U1", "b"), dm("U2", "x"), dm("U1", "c"));
    const seen: string[] = [];
    const s = t.sender(async (d) => {
      await new Promise((r) => setTimeout(r, textOf(d) === "a" ? 30 : 1));
      seen.push(textOf(d));
    });
    await s.idle();
    assert.deepEqual(
      seen.filter((t) => t !== "x"),
      ["a", "b", "c"],
    );
    assert.ok(seen.indexOf("x") < seen.indexOf("a"), "another lane does not wait for a slow one");
    assert.deepEqual(await rows(), []);
  });

  test("a rate-limited row waits at least Retry-After, holds its lane, and goes out first when due", async () => {
    await t.add(dm("U1", "first"), dm("U1", "second"));
    let fail = true;
    const seen: string[] = [];
    t.sender(async (d) => {
      if (fail && textOf(d) === "first") {
        fail = false;
        throw new SlackCallError("chat.postMessage", "ratelimited", true, 30_000);
      }
      seen.push(textOf(d));
    });
    await until("the retry is scheduled", async () => (await rows())[0]?.attempts === 1);
    const [waiting] = await rows();
    assert.equal(waiting?.next_attempt_at, new Date(T0 + 30_000).toISOString());
    assert.equal(waiting?.last_error, "chat.postMessage failed: ratelimited");
    await new Promise((r) => setTimeout(r, 60));
    assert.deepEqual(seen, [], "the second row waits behind the first");
    t.now = T0 + 30_000;
    await until("both are delivered", () => seen.length === 2);
    assert.deepEqual(seen, ["first", "second"]);
  });

  test("gives up after the last attempt: the row is kept as failed and its lane moves on", async () => {
    await t.add(dm("U1", "never"), dm("U1", "next"));
    const gaveUp: string[] = [];
    const seen: string[] = [];
    const s = t.sender(
      async (d) => {
        if (textOf(d) === "never") throw new SlackCallError("chat.postMessage", "ratelimited", true);
        seen.push(textOf(d));
      },
      {
        retry: { attempts: 3, baseDelayMs: 0, maxDelayMs: 0 },
        onGaveUp: (kind, code) => gaveUp.push(`${kind}/${code}`),
      },
    );
    await s.idle();
    assert.deepEqual(seen, ["next"]);
    assert.deepEqual(gaveUp, ["reply/ratelimited"]);
    const [failed] = await rows();
    assert.equal(failed?.status, "failed");
    assert.equal(failed?.attempts, 3);
  });

  test("an error that cannot clear fails the row at once", async () => {
    await t.add(dm("U1", "gone"));
    let calls = 0;
    const s = t.sender(async () => {
      calls += 1;
      throw new SlackCallError("chat.postMessage", "channel_not_found", false);
    });
    await s.idle();
    assert.equal(calls, 1);
    assert.equal((await rows())[0]?.status, "failed");
  });

  test("a retryable row older than the age limit is given up on whatever its attempts", async () => {
    await t.add(dm("U1", "old"));
    t.now = T0 + 2 * 3_600_000;
    const s = t.sender(
      async () => {
        throw new SlackCallError("chat.postMessage", "ratelimited", true);
      },
      { maxAgeMs: 3_600_000, retry: { attempts: 100, baseDelayMs: 0, maxDelayMs: 0 } },
    );
    await s.idle();
    const [row] = await rows();
    assert.equal(row?.status, "failed");
    assert.equal(row?.attempts, 1);
  });

  test("redraws coalesce while one waits, and not while one is being drawn", async () => {
    assert.equal(await t.add({ kind: "request_post", request: 7 }, { kind: "request_post", request: 7 }), 1);
    assert.equal(await t.add({ kind: "home", user: "U1" }, { kind: "home", user: "U1" }), 1);
    assert.equal(await t.add({ kind: "thread_step", request: 7, action: "a", actor: "x" }), 1);
    assert.equal(
      await t.add({ kind: "thread_step", request: 7, action: "a", actor: "x" }),
      1,
      "a story line is never coalesced",
    );
    const leased = await leaseDue(t.store, {
      now: t.clock.now(),
      leaseMs: 30_000,
      limit: 10,
      busyLanes: new Set(),
    });
    assert.deepEqual(
      leased.map((r) => r.lane),
      ["request:7", "home:U1"],
      "one row per lane: the head",
    );
    assert.equal(await t.add({ kind: "request_post", request: 7 }), 1, "the one being drawn may be stale");
  });

  test("a row a dead sender held is taken over once its lease ends, and delivered once", async () => {
    await t.add(dm("U1", "orphan"));
    const [held] = await leaseDue(t.store, {
      now: t.clock.now(),
      leaseMs: 30_000,
      limit: 1,
      busyLanes: new Set(),
    });
    assert.ok(held !== undefined);
    const seen: string[] = [];
    t.sender(async (d) => {
      seen.push(textOf(d));
    });
    await new Promise((r) => setTimeout(r, 60));
    assert.deepEqual(seen, [], "the lease still holds");
    t.now = T0 + 30_001;
    await until("taken over", () => seen.length === 1);
    await until("deleted", async () => (await rows()).length === 0);
    assert.deepEqual(seen, ["orphan"]);
  });

  test("parts an earlier try finished are not sent again", async () => {
    await t.add({ kind: "result", request: 3 });
    const sent: string[] = [];
    let tries = 0;
    const s = t.sender(
      async (_d, progress) => {
        tries += 1;
        await progress.once("dm:alice:message", async () => {
          sent.push("alice message");
        });
        await progress.once("dm:alice:file", async () => {
          if (tries === 1) throw new SlackCallError("files.getUploadURLExternal", "ratelimited", true);
          sent.push("alice file");
        });
      },
      { retry: { attempts: 3, baseDelayMs: 0, maxDelayMs: 0 } },
    );
    await s.idle();
    assert.equal(tries, 2);
    assert.deepEqual(sent, ["alice message", "alice file"]);
  });

  test("a row this version cannot read fails alone", async () => {
    const at = t.clock.now().toISOString();
    await t.store
      .insertInto("slack_outbox")
      .values({
        lane: "interaction:U1",
        coalesce_key: null,
        delivery: JSON.stringify({ kind: "teleport", to: "mars" }),
        status: "pending",
        next_attempt_at: at,
        lease_until: null,
        last_error: null,
        created_at: at,
        updated_at: at,
      })
      .execute();
    await t.add(dm("U1", "after"));
    const seen: string[] = [];
    const s = t.sender(async (d) => {
      seen.push(textOf(d));
    });
    await s.idle();
    assert.deepEqual(seen, ["after"]);
    const [bad] = await rows();
    assert.equal(bad?.status, "failed");
    assert.match(bad?.last_error ?? "", /^unreadable/);
  });

  test("an answer whose response_url has expired (30 minutes) is not sent", async () => {
    await t.add({
      kind: "reply",
      lane: "interaction:T1",
      to: { via: "response_url", url: "https://hooks.slack.com/actions/T1/1/x" },
      message: { text: "late", blocks: [] },
    });
    t.now = T0 + 31 * 60_000;
    let calls = 0;
    const s = t.sender(async () => {
      calls += 1;
    });
    await s.idle();
    assert.equal(calls, 0);
    const [row] = await rows();
    assert.equal(row?.status, "failed");
    assert.equal(row?.last_error, "response_url expired");
  });

  test("close leaves undelivered rows in the table for the next start", async () => {
    await t.add(dm("U1", "later"));
    let release: (() => void) | undefined;
    const s = t.sender(
      () =>
        new Promise<void>((_resolve, reject) => {
          release = () => reject(new SlackCallError("chat.postMessage", "network", true));
        }),
    );
    await until("the delivery is running", () => release !== undefined);
    const closing = s.close();
    release?.();
    await closing;
    const [row] = await rows();
    assert.equal(row?.status, "pending");
    assert.equal(row?.attempts, 1);
  });
});
