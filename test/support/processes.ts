/**
 * Real dbward processes for crash tests: the bot and the agent started through the `dbward`
 * command, killed with SIGKILL or stopped with SIGTERM like a container runtime would. Tokens
 * come in through the environment (DBWARD_ADMIN_TOKEN, DBWARD_AGENT_TOKEN_<ID>), so a restarted
 * bot keeps them.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

/**
 * The `dbward` the processes run: the sources through tsx (test/support/bin/dbward.mjs), so a
 * test runs the working tree; or, with DBWARD_PROCESS_BIN=build (the benchmarks set it), the
 * build in dist/ through bin/dbward.mjs, which is what ships and what a benchmark must measure.
 */
export const DBWARD_BIN = new URL(
  process.env.DBWARD_PROCESS_BIN === "build" ? "../../bin/dbward.mjs" : "./bin/dbward.mjs",
  import.meta.url,
).pathname;
const BIN = DBWARD_BIN;

export const token = (prefix: "dbw_" | "dbwa_"): string =>
  `${prefix}${randomBytes(32).toString("base64url")}`;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address !== null
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

export interface Proc {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** Everything the process wrote to standard error so far. */
  stderr(): string;
  /** Everything the process wrote to standard output so far (the bot's JSON log lines). */
  stdout(): string;
}

const live = new Set<ChildProcess>();

/** SIGKILLs every process still running: a test that failed half way must not leave one to hang the run. */
export function killAllProcesses(): void {
  for (const child of live) child.kill("SIGKILL");
}

export function spawnDbward(args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? "", DBWARD_LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  live.add(child);
  child.on("exit", () => live.delete(child));
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString("utf8")));
  child.stderr?.on("data", (d: Buffer) => (err += d.toString("utf8")));
  // On close, not exit: by then both pipes are drained, so the output read after it is whole.
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return { child, exited, stderr: () => err, stdout: () => out };
}

export interface BotProcess {
  readonly url: string;
  readonly adminToken: string;
  readonly env: Record<string, string>;
  proc: Proc;
}

/** Starts `dbward bot` and waits until it answers /health. */
export async function startBotProcess(
  dir: string,
  configText: string,
  env: Record<string, string>,
): Promise<Proc> {
  const config = join(dir, "bot.yml");
  writeFileSync(config, configText);
  const proc = spawnDbward(["bot", "--config", config, "--data-dir", join(dir, "bot")], env);
  await untilBotAnswers(Number(/port: (\d+)/.exec(configText)?.[1]), proc.child, proc.stderr);
  return proc;
}

/**
 * Waits until the bot on `port` answers /health; refuses at once, with what it wrote to standard
 * error, when its process has exited, and after `timeoutMs` otherwise. `intervalMs` is how often
 * it asks (small for a benchmark that times the start).
 */
export async function untilBotAnswers(
  port: number,
  child: ChildProcess,
  stderr: () => string,
  { intervalMs = 100, timeoutMs = 20_000 }: { intervalMs?: number; timeoutMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const up = await fetch(`http://127.0.0.1:${port}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return;
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`the bot exited before it answered: ${stderr()}`);
    if (Date.now() > deadline) throw new Error(`the bot did not start: ${stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Writes an agent config and starts `dbward agent` with it. */
export function startAgentProcess(dir: string, yaml: string, env: Record<string, string>): Proc {
  const config = join(dir, "agent.yml");
  writeFileSync(config, yaml);
  return spawnDbward(["agent", "--config", config], env);
}
