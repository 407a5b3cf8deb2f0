/**
 * Several agents serving the same databases: every job is claimed and run by exactly one of
 * them. Two real agents race for a burst of requests on the real PostgreSQL; each request ends
 * with one execution, and no token id appears in both agents' ledgers.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { LEDGER_FILE, type AgentHandle } from "@dbward/agent";
import type { RequestView } from "@dbward/shared";
import { startTestAgent } from "./support/agent-harness.ts";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";
import { waitForStatus } from "./support/wait.ts";

const JOBS = 12;

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
    const token = await h.tokenFor("alice");
    const created = await Promise.all(
      Array.from({ length: JOBS }, async (_, i) => {
        const res = await h.call(token, "POST", "/api/requests", {
          database: "shop",
          environment: "staging",
          sql: `SELECT ${i} AS n, pg_backend_pid() AS pid`,
          reason: "race",
        });
        return res.body as RequestView;
      }),
    );
    const done = await Promise.all(created.map((r) => waitForStatus(h, r.id, "succeeded", 30_000)));
    for (const r of done) assert.equal(r.executions.length, 1, `request #${r.id} ran once`);
    const ledger = (id: string): string[] =>
      readFileSync(join(h.dataDir, id, LEDGER_FILE), "utf8")
        .split("\n")
        .filter((l) => l !== "");
    const [one, two] = [ledger("agent-1"), ledger("agent-2")];
    assert.equal(one.length + two.length, JOBS);
    assert.equal(new Set([...one, ...two]).size, JOBS, "no token ran on both agents");
  });
});
