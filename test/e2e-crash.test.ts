/**
 * Crash safety with real processes (`dbward bot`, `dbward agent`) on the real PostgreSQL:
 * - T-REPLAY / crash mid-execution: `kill -9` of the agent mid-query makes the request lost, never
 *   re-run; the restarted agent refuses the old token from its ledger;
 * - `kill -9` of the bot mid-execution: the agent finishes, retries, and the result is recorded
 *   when the bot is back; a bot away longer than the retry time gets the result from the outbox;
 * - SIGTERM: the agent drains the running job, or cancels it on the server when the drain time
 *   is up, and exits cleanly, removing its health files.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { openStore, verifyAuditStore } from "@dbward/bot";
import type { PublicKeysView, RequestView, ResultView } from "@dbward/shared";
import pg from "pg";
import { PG_URL } from "./support/agent-harness.ts";
import {
  freePort,
  killAllProcesses,
  startAgentProcess,
  startBotProcess,
  token,
  type Proc,
} from "./support/processes.ts";
import { recordingProxy } from "./support/recording-proxy.ts";

const ADMIN = token("dbw_");
const AGENT = token("dbwa_");

function botConfig(port: number, leaseMarginMs: number): string {
  return `
listen: { host: 127.0.0.1, port: ${port} }
databases: [{ name: shop, dialect: postgres, environments: [staging] }]
workflows:
  - { name: reads-auto, operations: [read], auto_approve: always }
  - { name: writes, operations: [write], steps: [{ approvers: ["role:approver"] }] }
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: bob, name: Bob, roles: [approver] }
  - { id: olga, name: Olga, roles: [operator] }
  - { id: root, name: Root, roles: [admin] }
agents: [{ id: agent-1 }]
execution: { lease_margin_ms: ${leaseMarginMs} }
`;
}

interface Stack {
  dir: string;
  port: number;
  url: string;
  bot: Proc;
  tokens: Record<string, string>;
  kid: string;
  publicKey: string;
}

const botEnv = { DBWARD_ADMIN_TOKEN: ADMIN, DBWARD_AGENT_TOKEN_AGENT_1: AGENT };

/**
 * The lease of the tests that kill the bot, which are about the result reaching the bot when it
 * is back, not about the lease. A lease is a deadline stored with the execution (the claim or
 * the last heartbeat plus the margin), and the agent cannot extend it while the bot is down; a
 * restarted bot's sweeper marks the request lost the moment it is past. The result reaches the
 * restarted bot only after the bot's own start and the agent's next attempt, which its backoff
 * spaces up to 10 s apart for a result (30 s for the polls that carry the outbox): under load
 * that exceeds a 30 s lease counted from the kill, the request is lost before the result comes
 * in, and the result is recorded as a late one. So the lease here is the longest the bot takes
 * (lease_margin_ms ≤ 600 s); what a lease that runs out does is the agent-kill test's subject.
 */
const LEASE_OUTLASTING_THE_OUTAGE_MS = 600_000;

async function startStack(leaseMarginMs: number): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), "dbward-crash-"));
  const port = await freePort();
  const bot = await startBotProcess(dir, botConfig(port, leaseMarginMs), botEnv);
  const url = `http://127.0.0.1:${port}`;
  const keys = (await (await fetch(`${url}/api/public-key`)).json()) as PublicKeysView;
  const key = keys.keys[0];
  assert.ok(key !== undefined);
  const tokens: Record<string, string> = {};
  for (const user of ["alice", "bob", "olga"]) {
    const res = await call(url, ADMIN, "POST", "/api/tokens", { user, name: "crash-test" });
    tokens[user] = (res as { token: string }).token;
  }
  return { dir, port, url, bot, tokens, kid: key.kid, publicKey: key.public_key };
}

async function call(
  url: string,
  bearer: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${bearer}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return text === "" ? undefined : JSON.parse(text);
}

function agentYaml(s: Stack, botUrl: string, extra: string): string {
  return `
id: agent-1
bot_url: ${botUrl}
keys: { ${s.kid}: ${s.publicKey} }
data_dir: ${join(s.dir, "agent")}
poll_wait_ms: 1000
${extra}
databases:
  - { name: shop, environment: staging, driver: postgres, url_env: SHOP_URL, operations: [read, write] }
`;
}
const agentEnv = { DBWARD_AGENT_TOKEN: AGENT, SHOP_URL: PG_URL };

async function submit(s: Stack, sql: string): Promise<number> {
  const r = (await call(s.url, s.tokens.alice ?? "", "POST", "/api/requests", {
    database: "shop",
    environment: "staging",
    sql,
    reason: "crash test",
  })) as RequestView;
  if (r.status === "pending_approval")
    await call(s.url, s.tokens.bob ?? "", "POST", `/api/requests/${r.id}/approve`, {});
  return r.id;
}

async function view(s: Stack, id: number): Promise<RequestView> {
  return (await call(s.url, s.tokens.olga ?? "", "GET", `/api/requests/${id}`)) as RequestView;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch {
      // the bot may be restarting
    }
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const statusIs = (s: Stack, id: number, status: string) => async () => {
  const v = await view(s, id);
  return v.status === status ? v : undefined;
};

async function chainVerifies(s: Stack): Promise<void> {
  const store = openStore(join(s.dir, "bot"), { readonly: true });
  try {
    const verdict = await verifyAuditStore(store);
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
  } finally {
    await store.destroy();
  }
}

describe("crash safety with real processes", () => {
  const pgClient = new pg.Client(PG_URL);
  before(() => pgClient.connect());
  const onServer = async (marker: string): Promise<number> => {
    const r = await pgClient.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()",
      [`%${marker}%`],
    );
    return (r.rows[0] as { n: number }).n;
  };
  /** Waits until the statement marked `marker` runs on the server; a timeout says where the job stood. */
  const runningOnServer = async (s: Stack, id: number, marker: string, agent: Proc): Promise<void> => {
    try {
      await until("the query on the server", async () => ((await onServer(marker)) === 1 ? true : undefined));
    } catch (err) {
      const v = await view(s, id).catch(() => undefined);
      assert.fail(
        `${(err as Error).message}; request #${id} is ${v?.status ?? "unreadable"}; agent stderr: ${agent.stderr()}`,
      );
    }
  };
  const stacks: Stack[] = [];
  after(async () => {
    killAllProcesses();
    for (const s of stacks) rmSync(s.dir, { recursive: true, force: true });
    await pgClient.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%crash_marker%' AND pid <> pg_backend_pid()",
    );
    await pgClient.end();
  });

  test("kill -9 of the agent mid-query: the request becomes lost, nothing re-runs, and the restarted agent refuses the old token", async () => {
    const s = await startStack(1000);
    stacks.push(s);
    const proxy = await recordingProxy(s.url);
    const agent = startAgentProcess(s.dir, agentYaml(s, proxy.url, ""), agentEnv);
    const id = await submit(s, "SELECT pg_sleep(30) AS crash_marker_a");
    await runningOnServer(s, id, "crash_marker_a", agent);
    agent.child.kill("SIGKILL");
    await agent.exited;
    const lost = await until("lost", statusIs(s, id, "lost"));
    assert.equal(lost.executions.length, 1);
    assert.equal(lost.executions[0]?.status, "lost");
    await chainVerifies(s);

    // The old claim, token included, replayed to the restarted agent by a bot it cannot tell apart.
    const claim = proxy.claims[0];
    assert.ok(claim !== undefined, "the proxy saw the claim");
    proxy.replay(claim);
    const restarted = startAgentProcess(s.dir, agentYaml(s, proxy.url, ""), agentEnv);
    const result = await until("the replayed job's result", () => Promise.resolve(proxy.result));
    assert.equal((result as { outcome: string }).outcome, "refused");
    assert.equal((result as { error: { code: string } }).error.code, "token.replayed");
    restarted.child.kill("SIGTERM");
    assert.equal(await restarted.exited, 0);
    assert.equal((await view(s, id)).executions.length, 1, "no second execution");
    await proxy.close();
  });

  test("kill -9 of the bot mid-execution: the agent finishes, retries, and the result is recorded when the bot is back", async () => {
    const s = await startStack(LEASE_OUTLASTING_THE_OUTAGE_MS);
    stacks.push(s);
    const agent = startAgentProcess(s.dir, agentYaml(s, s.url, "result_retry_ms: 60000"), agentEnv);
    const id = await submit(
      s,
      "WITH s AS (SELECT pg_sleep(3) AS crash_marker_bot) SELECT g FROM s, generate_series(1, 900) AS g",
    );
    // Watched on the server, not through the bot: a loaded machine can poll past a short "running".
    await runningOnServer(s, id, "crash_marker_bot", agent);
    s.bot.child.kill("SIGKILL");
    await s.bot.exited;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    s.bot = await startBotProcess(s.dir, botConfig(s.port, LEASE_OUTLASTING_THE_OUTAGE_MS), botEnv);
    const done = await until("succeeded", statusIs(s, id, "succeeded"), 60_000);
    assert.equal(done.executions.length, 1);
    assert.equal(done.executions[0]?.row_count, 900);
    const result = (await call(
      s.url,
      s.tokens.alice ?? "",
      "GET",
      `/api/requests/${id}/result?limit=2`,
    )) as ResultView;
    assert.deepEqual([result.row_count, result.truncated], [900, false]);
    await chainVerifies(s);
    agent.child.kill("SIGTERM");
    assert.equal(await agent.exited, 0);
  });

  test("a bot away longer than the retry time gets the result from the agent's outbox, marked undelivered", async () => {
    const s = await startStack(LEASE_OUTLASTING_THE_OUTAGE_MS);
    stacks.push(s);
    const agent = startAgentProcess(s.dir, agentYaml(s, s.url, "result_retry_ms: 1000"), agentEnv);
    const id = await submit(
      s,
      "WITH s AS (SELECT pg_sleep(3) AS crash_marker_outbox) SELECT g FROM s, generate_series(1, 100) AS g",
    );
    await runningOnServer(s, id, "crash_marker_outbox", agent);
    s.bot.child.kill("SIGKILL");
    await s.bot.exited;
    const outbox = join(s.dir, "agent", "outbox");
    await until("the outbox entry", () =>
      Promise.resolve(readdirSync(outbox).some((f) => f.endsWith(".json")) || undefined),
    );
    s.bot = await startBotProcess(s.dir, botConfig(s.port, LEASE_OUTLASTING_THE_OUTAGE_MS), botEnv);
    const done = await until("succeeded", statusIs(s, id, "succeeded"), 60_000);
    assert.equal(done.executions.length, 1);
    assert.equal(done.executions[0]?.status, "succeeded", "delivered within the lease, not as a late result");
    const result = (await call(
      s.url,
      s.tokens.alice ?? "",
      "GET",
      `/api/requests/${id}/result`,
    )) as ResultView;
    assert.equal(result.truncated_by, "undelivered");
    await until("an empty outbox", () => Promise.resolve(readdirSync(outbox).length === 0 || undefined));
    await chainVerifies(s);
    agent.child.kill("SIGTERM");
    assert.equal(await agent.exited, 0);
  });

  test("SIGTERM drains the running job, then the agent exits cleanly and removes its health files", async () => {
    const s = await startStack(30_000);
    stacks.push(s);
    const agent = startAgentProcess(s.dir, agentYaml(s, s.url, "drain_ms: 20000"), agentEnv);
    const ready = join(s.dir, "agent", "ready");
    await until("the readiness file", () => Promise.resolve(existsSync(ready) || undefined));
    assert.ok(existsSync(join(s.dir, "agent", "alive")));
    const id = await submit(s, "SELECT pg_sleep(4) AS crash_marker_drain");
    await runningOnServer(s, id, "crash_marker_drain", agent);
    agent.child.kill("SIGTERM");
    assert.equal(await agent.exited, 0, agent.stderr());
    assert.equal((await view(s, id)).status, "succeeded");
    assert.equal(existsSync(ready), false);
    assert.equal(existsSync(join(s.dir, "agent", "alive")), false);
  });

  test("SIGTERM past the drain time cancels the statement on the server and reports it", async () => {
    const s = await startStack(30_000);
    stacks.push(s);
    const agent = startAgentProcess(s.dir, agentYaml(s, s.url, "drain_ms: 500"), agentEnv);
    const id = await submit(s, "SELECT pg_sleep(60) AS crash_marker_cut");
    await runningOnServer(s, id, "crash_marker_cut", agent);
    agent.child.kill("SIGTERM");
    assert.equal(await agent.exited, 0, agent.stderr());
    assert.equal(await onServer("crash_marker_cut"), 0);
    const done = await until("failed", statusIs(s, id, "failed"));
    assert.equal(done.executions[0]?.error?.code, "execution.cancelled");
    assert.match(done.status_reason ?? "", /shut down/);
  });
});
