/**
 * A lost database connection, with the real agent and the real PostgreSQL behind a TCP relay the
 * test can cut: the failing job is reported, the agent marks the database degraded on the bot
 * and leaves its jobs alone (its readiness file goes away), then reconnects with backoff and
 * takes the waiting job once the database answers again.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { AgentHandle } from "@dbward/agent";
import type { RequestView } from "@dbward/shared";
import { startTestAgent } from "./support/agent-harness.ts";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";
import { freePort } from "./support/processes.ts";
import { waitForStatus } from "./support/wait.ts";

/** A TCP relay to PostgreSQL that can be cut (every connection dropped, no new ones) and restored. */
function relay(port: number): { up(): Promise<void>; down(): Promise<void> } {
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
  };
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
    const failed = await waitForStatus(h, (await create("SELECT 2 AS cut")).id, "failed");
    assert.equal(failed.executions[0]?.error?.code, "execution.failed");

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
