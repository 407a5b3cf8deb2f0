/**
 * `npm run bench -- startup`: how fast the built `dbward` starts and how small it stays, beside
 * `node -e 0` on the same machine (the floor no Node program can go under). Prints the median of
 * repeated runs of `dbward --help`, `dbward --version` and an API-client command's `--help`; the
 * time from spawning `dbward bot` to its first `/health` answer; and the bot's resident memory
 * once idle (VmRSS) and at its peak (VmHWM). Goals (issue 15): --help ≤ 300 ms, bot ready ≤ 1 s,
 * idle ≤ 100 MB. Runs the build in dist/ (test/bench/run.ts builds it), as a user's would.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DBWARD_BIN, freePort, spawnDbward, token, untilBotAnswers } from "../support/processes.ts";
import { fmt, summary } from "./stats.ts";

const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 15);

function timeCommand(args: readonly string[]): number[] {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    const start = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.status !== 0) throw new Error(`${args.join(" ")} failed: ${r.stderr.toString()}`);
    times.push(ms);
  }
  return times;
}

const memoryMb = (pid: number | undefined, field: "VmRSS" | "VmHWM"): number =>
  Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? "0") /
  1024;

async function botStart(): Promise<{ readyMs: number; idleMb: number; peakMb: number }> {
  const dir = mkdtempSync(join(tmpdir(), "dbward-bench-startup-"));
  const port = await freePort();
  const config = join(dir, "bot.yml");
  writeFileSync(
    config,
    `listen: { host: 127.0.0.1, port: ${port} }
databases: [{ name: shop, dialect: postgres, environments: [production] }]
workflows: [{ name: reads, operations: [read], auto_approve: always }]
users: [{ id: root, name: Root, roles: [admin] }]
agents: [{ id: agent-1 }]
`,
  );
  const start = Date.now();
  const proc = spawnDbward(["bot", "--config", config, "--data-dir", join(dir, "bot")], {
    DBWARD_ADMIN_TOKEN: token("dbw_"),
    DBWARD_AGENT_TOKEN_AGENT_1: token("dbwa_"),
  });
  try {
    await untilBotAnswers(port, proc.child, proc.stderr, { intervalMs: 5, timeoutMs: 30_000 });
    const readyMs = Date.now() - start;
    // Idle: past the first sweeps and leader elections, with nothing to do.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    return { readyMs, idleMb: memoryMb(proc.child.pid, "VmRSS"), peakMb: memoryMb(proc.child.pid, "VmHWM") };
  } finally {
    proc.child.kill("SIGTERM");
    await proc.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

const line = (label: string, ms: readonly number[], floor: number): void => {
  const s = summary(ms);
  console.log(
    `${label.padEnd(34)} median ${fmt(s.p50, 0).padStart(5)} ms   p99 ${fmt(s.p99, 0).padStart(5)} ms   ${fmt(s.p50 / floor, 1)}× node -e 0`,
  );
};

const floor = summary(timeCommand(["-e", "0"])).p50;
console.log(`runs: ${RUNS} each; ${DBWARD_BIN}`);
console.log(`${"node -e 0".padEnd(34)} median ${fmt(floor, 0).padStart(5)} ms`);
line("dbward --help", timeCommand([DBWARD_BIN, "--help"]), floor);
line("dbward --version", timeCommand([DBWARD_BIN, "--version"]), floor);
line("dbward request create --help", timeCommand([DBWARD_BIN, "request", "create", "--help"]), floor);
const bots = [];
for (let i = 0; i < 3; i += 1) bots.push(await botStart());
const ready = summary(bots.map((b) => b.readyMs));
console.log(
  `${"dbward bot: spawn to /health".padEnd(34)} median ${fmt(ready.p50, 0).padStart(5)} ms   (goal ≤ 1000)`,
);
console.log(
  `${"dbward bot: memory when idle".padEnd(34)} RSS ${fmt(summary(bots.map((b) => b.idleMb)).p50, 0)} MB, peak ${fmt(summary(bots.map((b) => b.peakMb)).p50, 0)} MB   (goal ≤ 100)`,
);
