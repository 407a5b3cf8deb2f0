/**
 * A lost database connection, with the real agent and the real PostgreSQL behind a TCP relay the
 * test can cut: the failing job is reported, the agent marks the database degraded on the bot
 * and leaves its jobs alone (its readiness file goes away), then reconnects with backoff and
 * takes the waiting job once the database answers again. An idle pooled connection that the
 * server terminates marks the database degraded on the bot too, with PostgreSQL's own error,
 * before any job fails on it, and it is healthy again once a new connection answers.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { AgentHandle } from "@dbward/agent";
import type { RequestView } from "@dbward/shared";
import pg from "pg";
import { PG_URL, startTestAgent } from "./support/agent-harness.ts";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";
import { freePort } from "./support/processes.ts";
import { waitForStatus } from "./support/wait.ts";

/** A TCP relay to PostgreSQL that can be cut (every connection dropped, no new ones) and restored. */
function relay(port: number): { up(): Promise<void>; down(): Promise<void>; upstreamPorts(): number[] } {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  return {
    up: () =>
      new Promise((resolve) => {
        server = createServer((client) => {
          const upstream = connect(5432, "127.0.0.1");
          for (const s of [client, upstream]) {
            sockets.add(s);
            s.on("close", () => sockets.delete(s));
            s.on("error", () => s.destroy());
          }
          client.pipe(upstream).pipe(client);
        });
        server.listen(port, "127.0.0.1", () => resolve());
      }),
    down: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        if (server === undefined) return resolve();
        server.close(() => resolve());
      }),
    /** The local ports of the relay's connections to PostgreSQL: `client_port` in pg_stat_activity. */
    upstreamPorts: () =>
      [...sockets]
        .filter((s) => s.remotePort === 5432)
        .flatMap((s) => (s.localPort === undefined ? [] : [s.localPort])),
  };
}

interface AgentView {
  id: string;
  degraded: { database: string; error: string }[];
}

describe("a lost database connection", () => {
  let h: BotHarness;
  let agent: AgentHandle;
  let pgRelay: ReturnType<typeof relay>;
  before(async () => {
    const port = await freePort();
    pgRelay = relay(port);
    await pgRelay.up();
    h = await startBotHarness();
    agent = await startTestAgent(
      h,
      "agent-1",
      [
        {
          name: "shop",
          environment: "staging",
          driver: "postgres",
          url: `postgres://postgres@127.0.0.1:${port}/test`,
          operations: ["read"],
        },
      ],
      { reconnectBaseMs: 200 },
    );
  });
  after(async () => {
    await agent.stop();
    await h.stop();
    await pgRelay.down();
  });

  async function create(sql: string): Promise<RequestView> {
    const res = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
      database: "shop",
      environment: "staging",
      sql,
      reason: "test",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as RequestView;
  }

  test("reports the failure, marks itself degraded, leaves the database's jobs, and reconnects with backoff", async () => {
    await waitForStatus(h, (await create("SELECT 1 AS warm")).id, "succeeded");
    const ready = join(h.dataDir, "agent-1", "ready");
    assert.ok(existsSync(ready), "ready while the database answers");

    await pgRelay.down();
    // The agent hears of the outage from its idle connection breaking (degraded before it takes
    // the next job) or, when the pool had closed that connection, from the next job failing.
    const cut = await create("SELECT 2 AS cut");

    const agents = async (): Promise<{ id: string; degraded: { database: string }[] }[]> =>
      (
        (await h.call(h.adminToken, "GET", "/api/agents")).body as {
          agents: { id: string; degraded: { database: string }[] }[];
        }
      ).agents;
    const deadline = Date.now() + 10_000;
    while (
      !(await agents()).some((a) => a.id === "agent-1" && a.degraded.some((d) => d.database === "shop"))
    ) {
      if (Date.now() > deadline) assert.fail("the bot never saw the agent degraded");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(existsSync(ready), false, "not ready with its only database unreachable");
    const cutNow = (await h.call(await h.tokenFor("olga"), "GET", `/api/requests/${cut.id}`))
      .body as RequestView;
    if (cutNow.status === "failed") assert.equal(cutNow.executions[0]?.error?.code, "execution.failed");
    else assert.equal(cutNow.executions.length, 0, "not taken while degraded");

    const waiting = await create("SELECT 3 AS later");
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const still = (await h.call(await h.tokenFor("olga"), "GET", `/api/requests/${waiting.id}`))
      .body as RequestView;
    assert.equal(still.executions.length, 0, "a degraded database's job is left for another agent");

    await pgRelay.up();
    await waitForStatus(h, waiting.id, "succeeded", 20_000);
    assert.deepEqual((await agents()).find((a) => a.id === "agent-1")?.degraded, []);
  });
});

describe("an idle database connection that breaks", () => {
  let h: BotHarness;
  let agent: AgentHandle;
  let pgRelay: ReturnType<typeof relay>;
  const admin = new pg.Client(PG_URL);
  before(async () => {
    await admin.connect();
    const port = await freePort();
    pgRelay = relay(port);
    await pgRelay.up();
    h = await startBotHarness();
    agent = await startTestAgent(
      h,
      "agent-1",
      [
        {
          name: "shop",
          environment: "staging",
          driver: "postgres",
          url: `postgres://postgres@127.0.0.1:${port}/test`,
          operations: ["read"],
        },
      ],
      // The first probe comes 3-6 s after the loss: the bot hears of an outage with the next
      // poll (2 s long polls).
      { reconnectBaseMs: 6000 },
    );
  });
  after(async () => {
    await agent.stop();
    await h.stop();
    await pgRelay.down();
    await admin.end();
  });

  const degradedOnBot = async (): Promise<AgentView["degraded"] | undefined> =>
    ((await h.call(h.adminToken, "GET", "/api/agents")).body as { agents: AgentView[] }).agents.find(
      (a) => a.id === "agent-1",
    )?.degraded;

  async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  test("a backend terminated while idle shows the database degraded on the bot with PostgreSQL's error, then healthy again", async () => {
    const warm = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
      database: "shop",
      environment: "staging",
      sql: "SELECT 1 AS warm",
      reason: "test",
    });
    await waitForStatus(h, (warm.body as RequestView).id, "succeeded");
    // The agent's pool keeps its connection idle; terminate it from a second session.
    const idle = await admin.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE state = 'idle' AND client_port = ANY($1::int[])",
      [pgRelay.upstreamPorts()],
    );
    assert.ok(idle.rows.length > 0, "the agent holds an idle connection");
    for (const { pid } of idle.rows) await admin.query("SELECT pg_terminate_backend($1)", [pid]);

    const outage = await until("the bot to see the database degraded", async () =>
      (await degradedOnBot())?.find((d) => d.database === "shop"),
    );
    assert.match(outage.error, /terminating connection due to administrator command \(57P01\)/);
    await until("the database healthy again", async () =>
      (await degradedOnBot())?.length === 0 ? true : undefined,
    );
    const next = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
      database: "shop",
      environment: "staging",
      sql: "SELECT 2 AS after_idle_loss",
      reason: "test",
    });
    await waitForStatus(h, (next.body as RequestView).id, "succeeded");
  });
});
