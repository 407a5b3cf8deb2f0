/**
 * `npm run bench results`: a large SELECT through dbward as a person runs it — the real bot and
 * agent as separate processes, rows streamed to the bot's result store, and
 * `dbward request result <id> --follow --format csv -o FILE` as a third process started with the
 * request, writing the rows as they are stored (BENCH_RESULT_FOLLOW=0: started once the result is
 * stored, without --follow) — against the database's own client writing the same query to a file
 * on the same machine, in the same run:
 * - PostgreSQL: `psql -c "\copy (…) TO … WITH CSV HEADER"`; the two CSV files must have the same
 *   bytes (checked and printed);
 * - MariaDB: `mariadb --batch` (tab-separated, its own format: the times are compared, and the
 *   row counts).
 * For each size it prints the whole-path time (request to CSV file; the clock starts once the
 * agent polls, so its start-up is not part of moving a result) and its ratio to the client's,
 * the time to the stored result, the CPU the bot and the agent spent, and the peak RSS (VmHWM)
 * of the bot, the agent and the CLI. Each size gets fresh processes, so each peak is its own.
 *
 * Sizes: 100,000 and 1,000,000 rows; BENCH_RESULT_10M=1 adds 10,000,000 (several minutes), and
 * BENCH_RESULT_ROWS=n[,n…] sets the sizes. BENCH_RESULT_ENGINES=postgres or mariadb runs one.
 * BENCH_CPU_PROF=<dir> writes V8 CPU profiles of the bot, the agent and the CLI there (node --cpu-prof).
 * Kept out of `npm test`: it takes a minute or more. Benchmarks print; they never fail on a number.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PublicKeysView, RequestView } from "@dbward/shared";
import { MARIADB_URL, PG_URL } from "../support/agent-harness.ts";
import { DBWARD_BIN, freePort, token } from "../support/processes.ts";

type Engine = "postgres" | "mariadb";

const SIZES = (
  process.env.BENCH_RESULT_ROWS ??
  (process.env.BENCH_RESULT_10M === "1" ? "100000,1000000,10000000" : "100000,1000000")
)
  .split(",")
  .map(Number);
const ENGINES = (process.env.BENCH_RESULT_ENGINES ?? "postgres,mariadb").split(",") as Engine[];
const PROFILE_DIR = process.env.BENCH_CPU_PROF;
const ROW_CAP = Math.max(...SIZES);
const FOLLOW = process.env.BENCH_RESULT_FOLLOW !== "0";

const SQL: Record<Engine, (rows: number) => string> = {
  postgres: (rows) =>
    `SELECT g AS id, 'customer-' || g AS name, (g * 1.25)::numeric(14, 2) AS amount, md5(g::text) AS digest FROM generate_series(1, ${rows}) AS g`,
  mariadb: (rows) =>
    `SELECT seq AS id, CONCAT('customer-', seq) AS name, CAST(seq * 1.25 AS DECIMAL(14, 2)) AS amount, MD5(seq) AS digest FROM seq_1_to_${rows}`,
};
/** How often the bench asks whether the result is stored (each answer costs the bot a request). */
const POLL_MS = Number(process.env.BENCH_POLL_MS ?? 50);
const DATABASE: Record<Engine, string> = { postgres: "shop", mariadb: "shopm" };

const peakRssMb = (pid: number | undefined): number => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? "0") / 1024;
};
/** User and system CPU seconds a process has used so far (/proc/<pid>/stat, in ticks of 1/100 s). */
const cpuSeconds = (pid: number | undefined): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
async function sha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
/** Node's own flags for a dbward process: a CPU profile when asked for. */
const nodeFlags = (name: string): string[] =>
  PROFILE_DIR === undefined
    ? []
    : ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${name}.cpuprofile`];

interface Started {
  readonly child: ChildProcess;
  readonly exited: Promise<unknown>;
}

/** `dbward <command> --config FILE …` as its own process, with the build the bench measures. */
function startDbward(name: string, args: string[], env: Record<string, string>): Started {
  const child = spawn(process.execPath, [...nodeFlags(name), DBWARD_BIN, ...args], {
    env: { PATH: process.env.PATH ?? "", DBWARD_LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "ignore", "ignore"],
  });
  return { child, exited: new Promise((resolve) => child.on("close", resolve)) };
}

async function untilHealthy(url: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await fetch(`${url}/health`).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error("the bot did not start");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

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

/** `/usr/bin/time`'s elapsed seconds and maximum RSS of a command run to its end. */
function timed(command: string[], env: Record<string, string>): Promise<{ ms: number; rssMb: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn("/usr/bin/time", ["-f", "%e %M", ...command], {
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString("utf8")));
    child.on("close", (code) => {
      const last = err.trim().split("\n").at(-1) ?? "";
      const [elapsed, rss] = last.split(" ").map(Number);
      if (code !== 0 || elapsed === undefined || rss === undefined) {
        reject(new Error(`${command.join(" ")} failed (${code}): ${err}`));
      } else {
        resolve({ ms: elapsed * 1000, rssMb: rss / 1024 });
      }
    });
  });
}

interface Run {
  readonly totalMs: number;
  readonly storedMs: number;
  /** When the request was first seen running (claimed by the agent). */
  readonly runningMs: number | undefined;
  /** The warm-up request's time to its stored one-row result. */
  readonly warmMs: number;
  /** The bot's peak RSS once the result was stored (following, the download is under way). */
  readonly botStoredRss: number;
  readonly cpu: { bot: number; agent: number };
  readonly rss: { bot: number; agent: number; cli: number };
  readonly rows: number;
  readonly file: string;
}

/** Creates the request and waits until its result is stored. */
async function untilStored(
  url: string,
  userToken: string,
  engine: Engine,
  rows: number,
): Promise<{ id: number; runningMs: number | undefined; storedMs: number }> {
  const started = performance.now();
  return untilSucceeded(url, userToken, await create(url, userToken, engine, rows), started);
}

async function create(url: string, userToken: string, engine: Engine, rows: number): Promise<number> {
  const created = await fetch(`${url}/api/requests`, {
    method: "POST",
    headers: { authorization: `Bearer ${userToken}`, "content-type": "application/json" },
    body: JSON.stringify({
      database: DATABASE[engine],
      environment: "bench",
      sql: SQL[engine](rows),
      reason: "bench",
    }),
  });
  return ((await created.json()) as RequestView).id;
}

async function untilSucceeded(
  url: string,
  userToken: string,
  id: number,
  started: number,
): Promise<{ id: number; runningMs: number | undefined; storedMs: number }> {
  let runningMs: number | undefined;
  for (;;) {
    const v = (await (
      await fetch(`${url}/api/requests/${id}`, { headers: { authorization: `Bearer ${userToken}` } })
    ).json()) as RequestView;
    if (v.status === "running") runningMs ??= performance.now() - started;
    if (v.status === "succeeded") return { id, runningMs, storedMs: performance.now() - started };
    if (v.status !== "running" && v.status !== "dispatched" && v.status !== "approved")
      throw new Error(`request ended ${v.status}: ${v.status_reason ?? ""}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function throughDbward(engine: Engine, rows: number, dir: string): Promise<Run> {
  const admin = token("dbw_");
  const agentToken = token("dbwa_");
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  writeFileSync(
    join(dir, "bot.yml"),
    `listen: { host: 127.0.0.1, port: ${port} }
databases: [{ name: shop, dialect: postgres, environments: [bench] }, { name: shopm, dialect: mysql, environments: [bench] }]
workflows: [{ name: reads, operations: [read], auto_approve: always }]
users: [{ id: alice, name: Alice, roles: [requester] }, { id: root, name: Root, roles: [admin] }]
agents: [{ id: agent-1 }]
execution: { row_cap: ${ROW_CAP}, result_max_bytes: ${16 * 1024 ** 3}, statement_timeout_ms: 3600000 }
`,
  );
  const bot = startDbward("bot", ["bot", "--config", join(dir, "bot.yml"), "--data-dir", join(dir, "bot")], {
    DBWARD_ADMIN_TOKEN: admin,
    DBWARD_AGENT_TOKEN_AGENT_1: agentToken,
  });
  await untilHealthy(url);
  const key = ((await (await fetch(`${url}/api/public-key`)).json()) as PublicKeysView).keys[0];
  const limits = `operations: [read], statement_timeout_ms: 3600000, row_cap: ${ROW_CAP}, result_max_bytes: ${16 * 1024 ** 3}`;
  writeFileSync(
    join(dir, "agent.yml"),
    `id: agent-1
bot_url: ${url}
keys: { ${key?.kid}: ${key?.public_key} }
data_dir: ${join(dir, "agent")}
poll_wait_ms: 1000
databases:
  - { name: shop, environment: bench, driver: postgres, url_env: SHOP_URL, ${limits} }
  - { name: shopm, environment: bench, driver: mysql, url_env: SHOPM_URL, ${limits} }
`,
  );
  const agent = startDbward("agent", ["agent", "--config", join(dir, "agent.yml")], {
    DBWARD_AGENT_TOKEN: agentToken,
    SHOP_URL: PG_URL,
    SHOPM_URL: MARIADB_URL,
  });
  try {
    await untilAgentPolls(url, admin);
    const post = await fetch(`${url}/api/tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({ user: "alice", name: "bench" }),
    });
    const alice = ((await post.json()) as { token: string }).token;
    const cpu = (): { bot: number; agent: number } => ({
      bot: cpuSeconds(bot.child.pid),
      agent: cpuSeconds(agent.child.pid),
    });
    // A first job pays one-time costs (the SQL parser's WebAssembly, the pools' first
    // connections); one warm-up row first, timed on its own, so the figures are about rows.
    const warm = await untilStored(url, alice, engine, 1);
    const cpuStart = cpu();
    const started = performance.now();
    const id = await create(url, alice, engine, rows);
    const file = join(dir, `dbward-${engine}-${rows}.csv`);
    const download = (): Promise<{ ms: number; rssMb: number }> =>
      timed(
        [
          process.execPath,
          ...nodeFlags("cli"),
          DBWARD_BIN,
          "request",
          "result",
          String(id),
          ...(FOLLOW ? ["--follow"] : []),
          "--format",
          "csv",
          "-o",
          file,
        ],
        { DBWARD_URL: url, DBWARD_TOKEN: alice },
      );
    // Following, the CLI starts with the request; else once the result is stored.
    const following = FOLLOW ? download() : undefined;
    const { runningMs, storedMs } = await untilSucceeded(url, alice, id, started);
    const botStoredRss = peakRssMb(bot.child.pid);
    const cli = await (following ?? download());
    const totalMs = performance.now() - started;
    const cpuEnd = cpu();
    return {
      totalMs,
      storedMs,
      runningMs,
      warmMs: warm.storedMs,
      botStoredRss,
      cpu: { bot: cpuEnd.bot - cpuStart.bot, agent: cpuEnd.agent - cpuStart.agent },
      rss: { bot: peakRssMb(bot.child.pid), agent: peakRssMb(agent.child.pid), cli: cli.rssMb },
      rows,
      file,
    };
  } finally {
    agent.child.kill("SIGTERM");
    await agent.exited;
    bot.child.kill("SIGTERM");
    await bot.exited;
  }
}

/** The database's own client writing the same rows to a file; its time, and the file. */
async function throughClient(
  engine: Engine,
  rows: number,
  dir: string,
): Promise<{ ms: number; file: string }> {
  const file = join(dir, `${engine}-${rows}.out`);
  const t0 = performance.now();
  if (engine === "postgres") {
    execFileSync("psql", [
      PG_URL,
      "-X",
      "-q",
      "-c",
      `\\copy (${SQL.postgres(rows)}) TO '${file}' WITH CSV HEADER`,
    ]);
  } else {
    const m = new URL(MARIADB_URL);
    execFileSync("bash", [
      "-c",
      `mariadb --batch -h ${m.hostname} -P ${m.port || "3306"} -u ${m.username} ${m.pathname.slice(1)} -e "$1" > '${file}'`,
      "bash",
      SQL.mariadb(rows),
    ]);
  }
  return { ms: performance.now() - t0, file };
}

function lineCount(file: string): number {
  return Number(execFileSync("wc", ["-l", file], { encoding: "utf8" }).trim().split(" ")[0]);
}

async function main(): Promise<void> {
  console.log(
    FOLLOW
      ? "the CLI follows the result from the request on (--follow)"
      : "the CLI downloads the result once it is stored",
  );
  console.log(
    "engine    rows         dbward (stored)      client   ratio  peak RSS bot/agent/CLI  CPU bot/agent  same bytes",
  );
  for (const engine of ENGINES) {
    for (const rows of SIZES) {
      const dir = mkdtempSync(join(tmpdir(), "dbward-bench-results-"));
      try {
        const ours = await throughDbward(engine, rows, dir);
        const theirs = await throughClient(engine, rows, dir);
        const same =
          engine === "postgres"
            ? String((await sha256(ours.file)) === (await sha256(theirs.file)))
            : `n/a (${lineCount(ours.file) === lineCount(theirs.file) ? "same" : "different"} line count)`;
        console.log(
          [
            engine.padEnd(9),
            rows.toLocaleString("en").padEnd(12),
            `${seconds(ours.totalMs)} (${seconds(ours.storedMs)})`.padEnd(20),
            seconds(theirs.ms).padEnd(8),
            (ours.totalMs / theirs.ms).toFixed(2).padEnd(6),
            `${ours.rss.bot.toFixed(0)}/${ours.rss.agent.toFixed(0)}/${ours.rss.cli.toFixed(0)} MB`.padEnd(
              22,
            ),
            `${ours.cpu.bot.toFixed(2)}/${ours.cpu.agent.toFixed(2)} s`.padEnd(14),
            same,
          ].join(" "),
        );
        console.log(
          `          running after ${ours.runningMs === undefined ? "?" : seconds(ours.runningMs)}; CSV ${(statSync(ours.file).size / 1024 ** 2).toFixed(1)} MB; warm-up (first job, 1 row) stored after ${seconds(ours.warmMs)}; bot peak once stored ${ours.botStoredRss.toFixed(0)} MB`,
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
}

await main();
