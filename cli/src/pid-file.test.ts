import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { isBotCommandLine, pidFilePath, readPidFile, removePidFile, writePidFile } from "./pid-file.ts";

const root = mkdtempSync(join(tmpdir(), "dbward-pid-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => mkdtempSync(join(root, `d${++n}-`));

/** A real process that sleeps until killed, started as `node <script> <args>`. */
function sleeper(scriptName: string, args: string[]): ChildProcess {
  const script = join(freshDir(), scriptName);
  writeFileSync(script, "setInterval(() => {}, 1000);\n");
  return spawn(process.execPath, [script, ...args], { stdio: "ignore" });
}

function pidOf(child: ChildProcess): number {
  if (child.pid === undefined) throw new Error("the process did not start");
  return child.pid;
}

async function exited(child: ChildProcess): Promise<number> {
  const pid = pidOf(child);
  if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once("exit", r));
  return pid;
}

describe("the bot's pid file", () => {
  test("is written with mode 0600 and holds the pid alone, with no temporary file left", () => {
    const dir = freshDir();
    writePidFile(dir, 4242);
    const file = pidFilePath(dir);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), ["bot.pid"]);
    assert.equal(readPidFile(dir, { isAlive: () => false, commandLine: () => [] }).kind, "dead");
  });

  test("replaces a stale file from an earlier process", () => {
    const dir = freshDir();
    writeFileSync(pidFilePath(dir), "999999\n", { mode: 0o644 });
    writePidFile(dir, 4243);
    const state = readPidFile(dir, { isAlive: () => true, commandLine: () => undefined });
    assert.deepEqual(state, { kind: "live", file: pidFilePath(dir), pid: 4243 });
    assert.equal(statSync(pidFilePath(dir)).mode & 0o777, 0o600);
  });

  test("is removed on stop only while it still names this process", () => {
    const dir = freshDir();
    const forget = writePidFile(dir, 100);
    writePidFile(dir, 200);
    forget();
    assert.equal(readPidFile(dir, { isAlive: () => true, commandLine: () => undefined }).kind, "live");
    removePidFile(dir, 200);
    assert.equal(readPidFile(dir).kind, "missing");
  });

  test("a missing file and one that holds no pid are told apart", () => {
    const dir = freshDir();
    assert.equal(readPidFile(dir).kind, "missing");
    writeFileSync(pidFilePath(dir), "12 34\n");
    assert.equal(readPidFile(dir).kind, "invalid");
  });

  test("names a live dbward bot process as live", async () => {
    const child = sleeper("dbward.mjs", ["bot", "--config", "bot.yml"]);
    try {
      const dir = freshDir();
      writePidFile(dir, pidOf(child));
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(readPidFile(dir), { kind: "live", file: pidFilePath(dir), pid: pidOf(child) });
    } finally {
      child.kill("SIGKILL");
    }
  });

  test("a pid whose process exited is dead", async () => {
    const child = sleeper("dbward.mjs", ["bot"]);
    child.kill("SIGKILL");
    const pid = await exited(child);
    const dir = freshDir();
    writePidFile(dir, pid);
    assert.deepEqual(readPidFile(dir), { kind: "dead", file: pidFilePath(dir), pid });
  });

  test(
    "a pid now held by another program is not the bot",
    { skip: process.platform !== "linux" && "needs /proc" },
    async () => {
      const child = sleeper("unrelated.mjs", ["bot"]);
      try {
        const dir = freshDir();
        writePidFile(dir, pidOf(child));
        await new Promise((r) => setTimeout(r, 200));
        const state = readPidFile(dir);
        assert.equal(state.kind, "other");
        assert.match(state.kind === "other" ? state.command : "", /unrelated\.mjs bot$/);
      } finally {
        child.kill("SIGKILL");
      }
    },
  );

  test("recognises the ways the dbward command runs the bot, and nothing else", () => {
    assert.ok(isBotCommandLine(["/usr/bin/node", "/app/bin/dbward.mjs", "bot", "--config", "x"]));
    assert.ok(isBotCommandLine(["node", "/usr/local/bin/dbward", "bot"]));
    assert.ok(!isBotCommandLine(["node", "/app/bin/dbward.mjs", "agent", "--config", "x"]));
    assert.ok(!isBotCommandLine(["/usr/bin/python3", "dbward.mjs", "bot"]));
    assert.ok(!isBotCommandLine(["/bin/sleep", "100"]));
    assert.ok(!isBotCommandLine([]));
  });
});
