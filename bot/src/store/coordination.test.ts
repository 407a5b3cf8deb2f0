/**
 * Coordination of bot instances on one PostgreSQL state, against the real server: a wake-up
 * published by one instance reaches another; a listening connection the server kills comes back
 * and wakes its subscribers; exactly one instance leads a job, and the lead moves when the
 * holder's session dies or it closes.
 */
import assert from "node:assert/strict";
import { connect as connectTcp, createServer, type AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { dropStateDatabase, ensureStateDatabase } from "../../../test/support/postgres-state.ts";
import { postgresBus, type ChangeBus } from "./change-bus.ts";
import { postgresLeadership, type Leadership } from "./leadership.ts";
import { LEADER_LOCKS } from "./postgres-locks.ts";

const quiet = (): void => undefined;

/** Polls `ok` until it holds; fails naming `what` after 20 s. */
async function waitFor(ok: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await ok())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("instances coordinating through PostgreSQL", () => {
  const key = `coordination-${process.pid}`;
  let url: string;
  let admin: pg.Client;
  const closing: { close(): Promise<void> }[] = [];

  before(async () => {
    await dropStateDatabase(key);
    url = await ensureStateDatabase(key);
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
  });
  after(async () => {
    for (const c of closing) await c.close();
    await admin.end();
    await dropStateDatabase(key);
  });

  const bus = async (): Promise<ChangeBus> => {
    const b = await postgresBus({
      url,
      notify: async (channel) => {
        await admin.query("select pg_notify($1, '')", [channel]);
      },
      onError: quiet,
      maxBackoffMs: 200,
    });
    closing.push(b);
    return b;
  };

  const leadership = (): Leadership => {
    const l = postgresLeadership({ url, onError: quiet, checkMs: 100 });
    closing.push(l);
    return l;
  };

  /**
   * The backend holding a job's session lock in this test's database, if any. pg_locks lists the
   * whole server, and every bot on it takes the same keys in its own database.
   */
  const holderPid = async (job: keyof typeof LEADER_LOCKS): Promise<number | undefined> => {
    const k = BigInt(LEADER_LOCKS[job]);
    const r = await admin.query<{ pid: number }>(
      `select pid from pg_locks where locktype = 'advisory' and classid = $1 and objid = $2 and granted
         and database = (select oid from pg_database where datname = current_database())`,
      [Number(k >> 32n), Number(k & 0xffffffffn)],
    );
    return r.rows[0]?.pid;
  };

  test("a wake-up published by one instance reaches the others, and only on its channel", async () => {
    const a = await bus();
    const b = await bus();
    let jobs = 0;
    let changes = 0;
    b.subscribe("jobs", () => (jobs += 1));
    b.subscribe("changes", () => (changes += 1));
    a.publish("jobs");
    await waitFor(() => jobs >= 1, "b heard a's jobs wake-up");
    assert.equal(changes, 0);
  });

  test("a listening connection the server ends comes back, wakes its subscribers, and hears again", async () => {
    const a = await bus();
    const b = await bus();
    let woken = 0;
    b.subscribe("changes", () => (woken += 1));
    await admin.query(
      "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'dbward-bot-listen' and datname = current_database()",
    );
    // Both buses lost their listener; each wakes its subscribers once it is back.
    await waitFor(() => woken >= 1, "b woke its subscribers after reconnecting");
    const before = woken;
    await waitFor(async () => {
      a.publish("changes");
      await new Promise((r) => setTimeout(r, 50));
      return woken > before;
    }, "b hears a again after reconnecting");
  });

  test("a bus closed while it reconnects leaves no listening connection behind", async () => {
    // A front that holds every new connection for 400 ms, so close() lands while a reconnect is in flight.
    const front = createServer((socket) => {
      socket.pause();
      setTimeout(() => {
        const upstream = connectTcp(5432, "127.0.0.1", () => {
          socket.pipe(upstream).pipe(socket);
          socket.resume();
        });
        upstream.on("error", () => socket.destroy());
        socket.on("error", () => upstream.destroy());
      }, 400);
    });
    await new Promise<void>((r) => front.listen(0, "127.0.0.1", () => r()));
    const port = (front.address() as AddressInfo).port;
    // A database of its own, so the count below sees this bus's connections only.
    const own = `${key}-slow`;
    const ownUrl = await ensureStateDatabase(own);
    const ownName = new URL(ownUrl).pathname.slice(1);
    const errors: string[] = [];
    const slow = await postgresBus({
      url: ownUrl.replace("127.0.0.1:5432", `127.0.0.1:${port}`),
      notify: async () => undefined,
      onError: (_err, message) => errors.push(message),
      maxBackoffMs: 50,
    });
    const listeners = async (): Promise<number> =>
      (
        await admin.query<{ n: number }>(
          "select count(*)::int as n from pg_stat_activity where application_name = 'dbward-bot-listen' and datname = $1",
          [ownName],
        )
      ).rows[0]?.n ?? 0;
    try {
      assert.equal(await listeners(), 1);
      await admin.query(
        "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'dbward-bot-listen' and datname = $1",
        [ownName],
      );
      await new Promise((r) => setTimeout(r, 250));
      const reported = errors.length;
      await slow.close();
      await new Promise((r) => setTimeout(r, 600));
      assert.equal(await listeners(), 0);
      assert.equal(errors.length, reported, "nothing is reported after close");
    } finally {
      await new Promise((r) => front.close(() => r(undefined)));
      await dropStateDatabase(own);
    }
  });

  test("exactly one instance leads a job; when the holder's session dies the job stops and is led again", async () => {
    const running = new Map<string, boolean>();
    const stops = new Map<string, number>();
    let overlap = false;
    const job = (name: string) => ({
      start: () => {
        if ([...running.values()].some(Boolean)) overlap = true;
        running.set(name, true);
      },
      stop: () => {
        running.set(name, false);
        stops.set(name, (stops.get(name) ?? 0) + 1);
      },
    });
    const leaders = () => [...running.values()].filter(Boolean).length;
    await leadership().run("sweeper", job("one"));
    await leadership().run("sweeper", job("two"));
    await waitFor(() => leaders() === 1, "one instance leads");
    const first = running.get("one") === true ? "one" : "two";
    const pid = await holderPid("sweeper");
    assert.ok(pid !== undefined, "the leader holds the lock in the server");
    await admin.query("select pg_terminate_backend($1)", [pid]);
    await waitFor(() => stops.get(first) === 1, `${first} stopped the job once its session was gone`);
    // Either instance may win the lock again (the first one reconnects too); one of them must.
    await waitFor(
      async () => leaders() === 1 && ((await holderPid("sweeper")) ?? pid) !== pid,
      "the job is led again",
    );
    assert.equal(overlap, false, "no instance started the job while another ran it");
  });

  test("a leader that closes hands the job over", async () => {
    const started: string[] = [];
    const one = leadership();
    await one.run("pruning", { start: () => void started.push("one"), stop: quiet });
    assert.deepEqual(one.leading(), ["pruning"]);
    const two = leadership();
    await two.run("pruning", { start: () => void started.push("two"), stop: quiet });
    assert.deepEqual(two.leading(), []);
    await one.close();
    await waitFor(() => started.includes("two"), "two leads once one closed");
    assert.deepEqual(started, ["one", "two"]);
  });

  test("a job that cannot start lets its lead go, so it is tried again and another instance can run it", async () => {
    let failedStarts = 0;
    const broken = leadership();
    await broken.run("webhooks", {
      start: () => {
        failedStarts += 1;
        throw new Error("the dispatcher could not read its cursor");
      },
      stop: quiet,
    });
    assert.deepEqual(broken.leading(), [], "no lead kept for a job that is not running");
    assert.equal(await holderPid("webhooks"), undefined, "its lock is let go");
    await waitFor(() => failedStarts >= 2, "the instance tries the job again");
    let started = false;
    const healthy = leadership();
    await healthy.run("webhooks", { start: () => void (started = true), stop: quiet });
    await waitFor(() => started, "the other instance runs the job");
    assert.deepEqual(healthy.leading(), ["webhooks"]);
  });
});
