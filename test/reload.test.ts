/**
 * `dbward reload --data-dir` against a real bot started the way the README shows, `npx dbward bot`,
 * so that npm stands between the shell and the bot: the reload must reach the bot itself, through
 * the pid it records in its data directory. Also what reload refuses: no pid file, a pid file left
 * by a dead bot, and one whose pid now belongs to another program (which must not be signalled).
 * `npx dbward` in this checkout runs the build (bin/dbward.mjs → dist/), so the suite builds it
 * first: never a missing or stale one.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { buildDist } from "../scripts/build.ts";
import type { AuditListView, UserListView } from "@dbward/shared";
import { EXIT } from "../cli/src/exit-codes.ts";
import { main } from "../cli/src/main.ts";
import { captureOutput } from "./support/capture-output.ts";
import { freePort, token } from "./support/processes.ts";

const REPO = new URL("..", import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), "dbward-reload-"));
const started: ChildProcess[] = [];
after(() => {
  for (const child of started) child.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

function config(port: number, users: string): string {
  return `
listen: { host: 127.0.0.1, port: ${port} }
databases:
  - { name: shop, dialect: postgres, environments: [production] }
workflows:
  - { name: reads, operations: [read], auto_approve: always }
users:
${users}
`;
}
const ROOT_USER = "  - { id: root, name: Root, roles: [admin] }";

async function reload(args: string[]) {
  const out = captureOutput();
  const code = await main(["reload", ...args], {}, out);
  return { code, text: out.stdout.join("\n"), err: out.stderr.join("\n") };
}

/** A real process that sleeps until killed, as `node <dir>/<scriptName>`. */
function sleeper(scriptName: string): ChildProcess {
  const script = join(mkdtempSync(join(root, "sleeper-")), scriptName);
  writeFileSync(script, "setInterval(() => {}, 1000);\n");
  const child = spawn(process.execPath, [script], { stdio: "ignore" });
  started.push(child);
  return child;
}

function pidOf(child: ChildProcess): number {
  if (child.pid === undefined) throw new Error("the process did not start");
  return child.pid;
}

async function deadPid(): Promise<number> {
  const child = sleeper("dbward.mjs");
  const gone = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await gone;
  return pidOf(child);
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("dbward reload against a bot started with npx dbward bot", () => {
  const dir = join(root, "npx");
  const dataDir = join(dir, "bot");
  const configFile = join(dir, "bot.yml");
  const adminToken = token("dbw_");
  let port = 0;
  let npx: ChildProcess;
  let npxExited: Promise<unknown>;
  let stderr = "";
  let botPid = 0;

  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    assert.equal(res.status, 200, path);
    return (await res.json()) as T;
  };
  const userIds = async (): Promise<string[]> =>
    (await api<UserListView>("/api/users")).users.map((u) => u.id).sort();
  const reloadEvents = async () => (await api<AuditListView>("/api/audit?action=config.reloaded")).events;

  before(async () => {
    await buildDist();
    port = await freePort();
    rmSync(dir, { recursive: true, force: true });
    // A pid file left by a bot that died: it must not stop the start.
    const stalePid = await deadPid();
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dataDir, "bot.pid"), `${stalePid}\n`);
    writeFileSync(configFile, config(port, ROOT_USER));
    npx = spawn("npx", ["--no-install", "dbward", "bot", "--config", configFile, "--data-dir", dataDir], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? root, DBWARD_ADMIN_TOKEN: adminToken },
      stdio: ["ignore", "ignore", "pipe"],
    });
    started.push(npx);
    npx.stderr?.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    npxExited = new Promise((r) => npx.once("exit", r));
    botPid = await until("the bot's pid file", async () => {
      const text = readFileSync(join(dataDir, "bot.pid"), "utf8").trim();
      return text === String(stalePid) ? undefined : Number(text);
    });
    await until("the bot to answer /health", async () =>
      (await fetch(`http://127.0.0.1:${port}/health`)).ok ? true : undefined,
    );
  });

  test("the pid file names the bot itself, not npm, and is private", () => {
    assert.notEqual(botPid, npx.pid, "npx is a different process from the bot");
    assert.match(readFileSync(`/proc/${botPid}/cmdline`, "utf8"), /\/dbward(\.mjs)?\0bot\0/);
    assert.equal(statSync(join(dataDir, "bot.pid")).mode & 0o777, 0o600);
  });

  test("a user added to the config is there after dbward reload, and the reload is audited", async () => {
    assert.deepEqual(await userIds(), ["root"]);
    const before = (await reloadEvents()).length;
    writeFileSync(
      configFile,
      config(port, `${ROOT_USER}\n  - { id: carol, name: Carol, roles: [requester] }`),
    );
    const r = await reload(["--data-dir", dataDir]);
    assert.equal(r.code, EXIT.ok, r.err);
    assert.match(
      r.text,
      new RegExp(`sent SIGHUP to the bot \\(pid ${botPid}\\); config reloaded \\(audit event #\\d+\\)`),
    );
    assert.deepEqual(await userIds(), ["carol", "root"]);
    const events = await reloadEvents();
    assert.equal(events.length, before + 1);
    assert.equal(events.at(-1)?.actor, "system");
    assert.equal(r.text.match(/#(\d+)/)?.[1], String(events.at(-1)?.seq));
  });

  test("a config the bot refuses fails the reload, and the bot keeps running on the old one", async () => {
    const events = (await reloadEvents()).length;
    writeFileSync(configFile, `${config(port, ROOT_USER)}\nno_such_key: 1\n`);
    const r = await reload(["--data-dir", dataDir, "--timeout", "2"]);
    assert.equal(r.code, EXIT.failure);
    assert.match(r.err, /recorded no config\.reloaded event within 2 s: it refused the new config/);
    assert.equal((await reloadEvents()).length, events);
    assert.deepEqual(await userIds(), ["carol", "root"], "the config from before stays");
  });

  test("a clean stop removes the pid file, and reload then says no bot is running", async () => {
    process.kill(botPid, "SIGTERM");
    await npxExited;
    assert.ok(!existsSync(join(dataDir, "bot.pid")), stderr);
    const r = await reload(["--data-dir", dataDir]);
    assert.equal(r.code, EXIT.notFound);
    assert.match(r.err, /no bot pid file at .*bot\.pid/);
  });
});

describe("dbward reload refuses to signal what is not the bot", () => {
  test("without a pid file it exits 4 and names the file", async () => {
    const dataDir = mkdtempSync(join(root, "none-"));
    const r = await reload(["--data-dir", dataDir]);
    assert.equal(r.code, EXIT.notFound);
    assert.match(r.err, new RegExp(`no bot pid file at ${dataDir}/bot\\.pid: no bot is running`));
  });

  test("a pid file from a bot that died exits 7 and signals nothing", async () => {
    const dataDir = mkdtempSync(join(root, "dead-"));
    const pid = await deadPid();
    writeFileSync(join(dataDir, "bot.pid"), `${pid}\n`);
    const r = await reload(["--data-dir", dataDir]);
    assert.equal(r.code, EXIT.unreachable);
    assert.match(r.err, new RegExp(`\\(pid ${pid}\\) is no longer running; nothing was signalled`));
  });

  test("a pid now held by another program exits 7, and that program gets no SIGHUP", async () => {
    const dataDir = mkdtempSync(join(root, "other-"));
    const other = sleeper("unrelated.mjs");
    const exited = new Promise<string | null>((r) => other.once("exit", (_code, signal) => r(signal)));
    writeFileSync(join(dataDir, "bot.pid"), `${pidOf(other)}\n`);
    await new Promise((r) => setTimeout(r, 200));
    const r = await reload(["--data-dir", dataDir]);
    assert.equal(r.code, EXIT.unreachable);
    assert.match(r.err, /is now another program \(.*unrelated\.mjs\), not a dbward bot/);
    // A node process without a SIGHUP handler ends on SIGHUP: still running means it got none.
    const outcome = await Promise.race([exited, new Promise((r) => setTimeout(() => r("running"), 300))]);
    assert.equal(outcome, "running");
    other.kill("SIGKILL");
  });
});
