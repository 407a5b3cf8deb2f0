/**
 * `npm run bench results`: a 1,000,000-row PostgreSQL SELECT through dbward — the real bot and
 * agent as separate processes, rows streamed to the bot's result store, then downloaded as CSV
 * through the API — against `psql` copying the same query to CSV on the same machine. Prints the
 * wall-time ratio, the time to the stored result and to the CSV file, the CPU time the bot and the
 * agent spent on each, their peak RSS (VmHWM), and checks that both CSVs have the same bytes. The
 * clock starts once the agent polls: its start-up is not part of moving a result. Kept out of
 * `npm test`: it takes tens of seconds.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PublicKeysView, RequestView } from "@dbward/shared";
import { downloadResult } from "../../cli/src/commands/result-download.ts";
import { PG_URL } from "../support/agent-harness.ts";
import { freePort, startAgentProcess, startBotProcess, token } from "../support/processes.ts";

const ROWS = Number(process.env.BENCH_RESULT_ROWS ?? 1_000_000);
const SQL = `SELECT g AS id, 'customer-' || g AS name, (g * 1.25)::numeric(14, 2) AS amount, md5(g::text) AS digest FROM generate_series(1, ${ROWS}) AS g`;

const peakRssMb = (pid: number | undefined): number => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? "0") / 1024;
};
/** User and system CPU seconds a process has used so far (/proc/<pid>/stat, in ticks of 1/100 s). */
const cpuSeconds = (pid: number | undefined): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
const sha256 = (file: string): string => createHash("sha256").update(readFileSync(file)).digest("hex");

async function untilAgentPolls(url: string, admin: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await fetch(`${url}/api/agents`, { headers: { authorization: `Bearer ${admin}` } });
    const list = (await res.json()) as { agents: { id: string; status: string }[] };
    if (list.agents.some((a) => a.id === "agent-1" && a.status === "connected")) return;
    if (Date.now() > deadline) throw new Error("the agent did not start polling");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "dbward-bench-results-"));
  const admin = token("dbw_");
  const agentToken = token("dbwa_");
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const bot = await startBotProcess(
    dir,
    `listen: { host: 127.0.0.1, port: ${port} }
databases: [{ name: shop, dialect: postgres, environments: [bench] }]
workflows: [{ name: reads, operations: [read], auto_approve: always }]
users: [{ id: alice, name: Alice, roles: [requester] }, { id: root, name: Root, roles: [admin] }]
agents: [{ id: agent-1 }]
execution: { row_cap: 1000000, statement_timeout_ms: 600000 }
`,
    { DBWARD_ADMIN_TOKEN: admin, DBWARD_AGENT_TOKEN_AGENT_1: agentToken },
  );
  const key = ((await (await fetch(`${url}/api/public-key`)).json()) as PublicKeysView).keys[0];
  const agent = startAgentProcess(
    dir,
    `id: agent-1
bot_url: ${url}
keys: { ${key?.kid}: ${key?.public_key} }
data_dir: ${join(dir, "agent")}
poll_wait_ms: 1000
databases: [{ name: shop, environment: bench, driver: postgres, url_env: SHOP_URL, operations: [read], statement_timeout_ms: 600000 }]
`,
    { DBWARD_AGENT_TOKEN: agentToken, SHOP_URL: PG_URL },
  );
  try {
    await untilAgentPolls(url, admin);
    const post = await fetch(`${url}/api/tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({ user: "alice", name: "bench" }),
    });
    const alice = ((await post.json()) as { token: string }).token;
    const cpu = (): number[] => [cpuSeconds(bot.child.pid), cpuSeconds(agent.child.pid)];
    const cpuStart = cpu();
    const started = performance.now();
    const created = await fetch(`${url}/api/requests`, {
      method: "POST",
      headers: { authorization: `Bearer ${alice}`, "content-type": "application/json" },
      body: JSON.stringify({ database: "shop", environment: "bench", sql: SQL, reason: "bench" }),
    });
    const id = ((await created.json()) as RequestView).id;
    for (;;) {
      const v = (await (
        await fetch(`${url}/api/requests/${id}`, { headers: { authorization: `Bearer ${alice}` } })
      ).json()) as RequestView;
      if (v.status === "succeeded") break;
      if (v.status !== "running" && v.status !== "dispatched" && v.status !== "approved")
        throw new Error(`request ended ${v.status}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const stored = performance.now();
    const cpuStored = cpu();
    const ours = join(dir, "dbward.csv");
    const summary = await downloadResult({
      url,
      token: alice,
      id,
      format: "csv",
      out: ours,
      progress: { write: () => undefined },
    });
    const dbward = performance.now() - started;
    const cpuEnd = cpu();
    const botRss = peakRssMb(bot.child.pid);
    const agentRss = peakRssMb(agent.child.pid);

    const theirs = join(dir, "psql.csv");
    const t0 = performance.now();
    execFileSync("psql", [PG_URL, "-X", "-q", "-c", `\\copy (${SQL}) TO '${theirs}' WITH CSV HEADER`]);
    const psql = performance.now() - t0;

    console.log(
      `rows: ${ROWS.toLocaleString("en")} (${summary.rows.toLocaleString("en")} stored, CSV ${(statSync(ours).size / 1024 ** 2).toFixed(1)} MB)`,
    );
    console.log(
      `dbward, request to CSV file: ${(dbward / 1000).toFixed(2)} s (stored after ${((stored - started) / 1000).toFixed(2)} s)`,
    );
    const spent = (from: number[], to: number[], i: number): string =>
      ((to[i] ?? 0) - (from[i] ?? 0)).toFixed(2);
    console.log(
      `CPU to store: bot ${spent(cpuStart, cpuStored, 0)} s, agent ${spent(cpuStart, cpuStored, 1)} s; download: bot ${spent(cpuStored, cpuEnd, 0)} s`,
    );
    console.log(`psql \\copy to CSV:           ${(psql / 1000).toFixed(2)} s`);
    console.log(`wall-time ratio dbward/psql: ${(dbward / psql).toFixed(1)}`);
    console.log(`peak RSS: bot ${botRss.toFixed(0)} MB, agent ${agentRss.toFixed(0)} MB`);
    console.log(`CSV identical to psql's: ${sha256(ours) === sha256(theirs)}`);
  } finally {
    agent.child.kill("SIGTERM");
    await agent.exited;
    bot.child.kill("SIGTERM");
    await bot.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
