/**
 * Several agents serving the same databases: every job is claimed and run by exactly one of
 * them. Two real agents race for a burst of requests on the real PostgreSQL; each request ends
 * with one execution, and no token id appears in both agents' ledgers.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { LEDGER_FILE, type AgentHandle } from "@dbward/agent";
import { base64url, type ErrorBody, type RequestView } from "@dbward/shared";
import { DEFAULT_AGENT_DBS, startTestAgent } from "./support/agent-harness.ts";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";
import { waitForStatus } from "./support/wait.ts";

const JOBS = 12;

/** Creates JOBS auto-approved reads at once and waits until each has succeeded, exactly once. */
async function runBurst(h: BotHarness, sql: (i: number) => string, reason: string): Promise<void> {
  const token = await h.tokenFor("alice");
  const created = await Promise.all(
    Array.from({ length: JOBS }, async (_, i) => {
      const res = await h.call(token, "POST", "/api/requests", {
        database: "shop",
        environment: "staging",
        sql: sql(i),
        reason,
      });
      return res.body as RequestView;
    }),
  );
  const done = await Promise.all(created.map((r) => waitForStatus(h, r.id, "succeeded", 30_000)));
  for (const r of done) assert.equal(r.executions.length, 1, `request #${r.id} ran once`);
}

/** The token ids an agent data directory's ledger holds (none when it has no ledger yet). */
function ledger(h: BotHarness, dir: string): string[] {
  const file = join(h.dataDir, dir, LEDGER_FILE);
  return existsSync(file)
    ? readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l !== "")
    : [];
}

describe("two agents racing for the same jobs", () => {
  let h: BotHarness;
  let agents: AgentHandle[];
  before(async () => {
    h = await startBotHarness();
    agents = [await startTestAgent(h, "agent-1"), await startTestAgent(h, "agent-2")];
  });
  after(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await h.stop();
  });

  test("each job is claimed and run by exactly one agent", async () => {
    await runBurst(h, (i) => `SELECT ${i} AS n, pg_backend_pid() AS pid`, "race");
    const [one, two] = [ledger(h, "agent-1"), ledger(h, "agent-2")];
    assert.equal(one.length + two.length, JOBS);
    assert.equal(new Set([...one, ...two]).size, JOBS, "no token ran on both agents");
  });
});

describe("two processes with one agent id and different data directories", () => {
  let h: BotHarness;
  let agents: AgentHandle[];
  before(async () => {
    h = await startBotHarness();
    const token = h.agentTokens["agent-1"] ?? "";
    const keys = { [h.bot.signingKey.kid]: base64url(h.bot.signingKey.publicKey) };
    const start = (dir: string): Promise<AgentHandle> =>
      startTestAgent(h, "agent-1", DEFAULT_AGENT_DBS, {}, keys, token, join(h.dataDir, dir));
    agents = [await start("first"), await start("second")];
  });
  after(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await h.stop();
  });

  test("only one of them is offered jobs: every token is in one ledger", async () => {
    await runBurst(h, (i) => `SELECT ${i} AS n, 'one id' AS case_name`, "one agent id, two processes");
    const counts = [ledger(h, "first").length, ledger(h, "second").length].sort((a, b) => a - b);
    assert.deepEqual(counts, [0, JOBS], "one process ran every job, the other none");
  });

  test("a poll from another session while the holder is live is refused with agent.session_conflict", async () => {
    const res = await h.call(h.agentTokens["agent-1"] ?? "", "POST", "/api/agent/poll", {
      capabilities: [],
      wait_ms: 0,
      session: "another-data-directory",
    });
    assert.equal(res.status, 409, JSON.stringify(res.body));
    assert.equal((res.body as ErrorBody).error.code, "agent.session_conflict");
  });

  test("a session quiet for the liveness window hands the agent id over to the next one", async () => {
    const poll = (session: string): Promise<{ status: number; body: unknown }> =>
      h.call(h.agentTokens["agent-2"] ?? "", "POST", "/api/agent/poll", {
        capabilities: [],
        wait_ms: 0,
        session,
      });
    assert.equal((await poll("agent-2-first-directory")).status, 200);
    assert.equal((await poll("agent-2-second-directory")).status, 409, "refused while the first is live");
    await h.bot.store
      .updateTable("agent_sessions")
      .set({ last_seen_at: new Date(Date.now() - 61_000).toISOString() })
      .where("agent_id", "=", "agent-2")
      .execute();
    assert.equal((await poll("agent-2-second-directory")).status, 200, "the quiet holder handed over");
    assert.equal(
      (await poll("agent-2-first-directory")).status,
      409,
      "and the old session is now the second",
    );
  });
});
