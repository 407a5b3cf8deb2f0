/**
 * A PostgreSQL restart under two bot instances sharing its state (issue 14: every instance
 * recovers without manual action). The server is the test's own (test/support/private-postgres.ts),
 * restarted with every connection cut while a request waits for approval and an agent's long poll
 * is held. Afterwards, with nobody touching the bots: calls succeed again on both, a periodic
 * job has a leader again, an approval on one instance reaches the long poll held on the other,
 * and the audit chain verifies without a gap.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseBotConfig, startBot, verifyAuditStore, type RunningBot } from "@dbward/bot";
import type { PollResponse, RequestView } from "@dbward/shared";
import pg from "pg";
import { pino } from "pino";
import { TEST_CONFIG } from "./support/bot-harness.ts";
import { shareSigningKey } from "./support/postgres-state.ts";
import { startPrivatePostgres, type PrivatePostgres } from "./support/private-postgres.ts";

const CAPABILITIES = [{ database: "shop", environment: "staging", operations: ["read", "write"] }];

/** Calls `probe` until it returns a value; every instance must come back by itself, in bounded time. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 30_000;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) assert.fail(`${what} did not happen: ${String(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("a PostgreSQL restart under two bot instances", () => {
  let server: PrivatePostgres;
  const dirs: string[] = [];
  let a: RunningBot;
  let b: RunningBot;
  let admin: string;
  let agent: string;

  const call = async (bot: RunningBot, token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${bot.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text === "" ? undefined : JSON.parse(text)) as unknown };
  };
  const tokenFor = async (user: string): Promise<string> => {
    const res = await call(a, admin, "POST", "/api/tokens", { user, name: "restart-test" });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return (res.body as { token: string }).token;
  };
  const sweeperLeaders = async (): Promise<number> => {
    const c = new pg.Client({ connectionString: server.url });
    await c.connect();
    try {
      const r = await c.query<{ n: number }>(
        "select count(*)::int as n from pg_locks where locktype = 'advisory' and granted and objid = 257",
      );
      return r.rows[0]?.n ?? 0;
    } finally {
      await c.end();
    }
  };

  before(async () => {
    server = await startPrivatePostgres();
    const parsed = parseBotConfig(TEST_CONFIG);
    const config = { ...parsed, state: { url: server.url, pool_size: 4 } };
    for (let i = 0; i < 2; i++) dirs.push(mkdtempSync(join(tmpdir(), "dbward-restart-")));
    shareSigningKey(dirs);
    const start = (dir: string) => {
      return startBot({
        config,
        dataDir: dir,
        env: {},
        logger: pino({ level: "silent" }),
        listen: { host: "127.0.0.1", port: 0 },
      });
    };
    a = await start(dirs[0]!);
    b = await start(dirs[1]!);
    const secrets = [...a.bootstrapSecrets, ...b.bootstrapSecrets];
    admin = secrets.find((s) => s.kind === "user")?.secret ?? "";
    agent = secrets.find((s) => s.kind === "agent" && s.subject === "agent-1")?.secret ?? "";
    assert.ok(admin !== "" && agent !== "");
  });
  after(async () => {
    await a?.close();
    await b?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    server?.destroy();
  });

  test("both recover by themselves: calls succeed, a job is led again, wake-ups cross, the chain verifies", async () => {
    const alice = await tokenFor("alice");
    const bob = await tokenFor("bob");
    const created = await call(a, alice, "POST", "/api/requests", {
      database: "shop",
      environment: "staging",
      sql: "UPDATE accounts SET name = 'x' WHERE id = 1",
      reason: "before the restart",
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = (created.body as RequestView).id;
    await eventually("a sweeper leader before the restart", async () =>
      (await sweeperLeaders()) === 1 ? true : undefined,
    );

    server.restart();

    // Both instances answer again once their pools have replaced the cut connections.
    for (const bot of [a, b])
      await eventually("a read after the restart", async () => {
        const r = await call(bot, bob, "GET", `/api/requests/${id}`);
        return r.status === 200 ? r : undefined;
      });
    await eventually("a sweeper leader after the restart", async () =>
      (await sweeperLeaders()) === 1 ? true : undefined,
    );

    // The agent's long poll is held on a; the approval lands on b.
    const polled = call(a, agent, "POST", "/api/agent/poll", { capabilities: CAPABILITIES, wait_ms: 20_000 });
    await new Promise((r) => setTimeout(r, 200));
    const approved = await eventually("the approval after the restart", async () => {
      const r = await call(b, bob, "POST", `/api/requests/${id}/approve`, {});
      return r.status === 200 ? r : undefined;
    });
    assert.equal((approved.body as RequestView).status, "dispatched");
    const offers = (await polled).body as PollResponse;
    assert.deepEqual(
      offers.jobs.map((j) => j.request_id),
      [id],
    );

    const approvals = await a.store
      .selectFrom("approvals")
      .select("approver")
      .where("request_id", "=", id)
      .execute();
    assert.deepEqual(approvals, [{ approver: "bob" }]);
    const verdict = await verifyAuditStore(a.store);
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
  });
});
