/**
 * `<data dir>/bot.pid`: the process id of the bot serving that data directory, so that
 * `dbward reload` can signal the bot itself. Started as the README shows (`npx dbward bot`), the
 * bot runs under npm, and a SIGHUP sent to npm's pid ends npm instead of reaching the bot.
 *
 * The file is written (mode 0600, whole, by rename) once the bot listens and handles SIGHUP, and
 * removed on a clean stop. A file left by a process that died is stale: it never blocks a start,
 * and it must never make `dbward reload` signal whatever process got the pid since. So a pid is
 * used only when that process is alive and, where /proc exists (Linux), its command line is node
 * running the dbward command's `bot`.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, join } from "node:path";

export const PID_FILE = "bot.pid";

/** What the pid file says, checked against the running processes. */
export type PidFileState =
  | { readonly kind: "missing"; readonly file: string }
  | { readonly kind: "invalid"; readonly file: string }
  /** No process has that pid any more. */
  | { readonly kind: "dead"; readonly file: string; readonly pid: number }
  /** A process has that pid, but it is not a dbward bot: the pid was reused. */
  | { readonly kind: "other"; readonly file: string; readonly pid: number; readonly command: string }
  | { readonly kind: "live"; readonly file: string; readonly pid: number };

/** How processes are looked at; injected so the checks can be tested on any process. */
export interface ProcessProbe {
  /** True when a process with this pid exists (whether or not this user may signal it). */
  isAlive(pid: number): boolean;
  /** Its argv (empty when it cannot be read), or undefined where the system has no /proc to ask. */
  commandLine(pid: number): readonly string[] | undefined;
}

export const systemProbe: ProcessProbe = {
  isAlive(pid) {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      // EPERM: it exists and belongs to another user.
      return (err as NodeJS.ErrnoException).code === "EPERM";
    }
  },
  commandLine(pid) {
    let raw: string;
    try {
      raw = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // No /proc at all (macOS): nothing more to check. A /proc without this pid: it just exited.
      if (code === "ENOENT" && !hasProc()) return undefined;
      return [];
    }
    return raw.split("\0").filter((arg) => arg !== "");
  },
};

function hasProc(): boolean {
  try {
    readFileSync("/proc/self/cmdline");
    return true;
  } catch {
    return false;
  }
}

/**
 * Node running the dbward command with `bot`: `node …/bin/dbward.mjs bot …` (a checkout, npx, the
 * container) or `node …/bin/dbward bot …` (an installed command).
 */
export function isBotCommandLine(argv: readonly string[]): boolean {
  const [exe, ...args] = argv;
  if (exe === undefined || !/^node(js)?(\d+)?$/.test(basename(exe))) return false;
  const script = args.findIndex((a) => /^dbward(\.mjs)?$/.test(basename(a)));
  return script >= 0 && args.slice(script + 1).includes("bot");
}

export function pidFilePath(dataDir: string): string {
  return join(dataDir, PID_FILE);
}

export function readPidFile(dataDir: string, probe: ProcessProbe = systemProbe): PidFileState {
  const file = pidFilePath(dataDir);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { kind: "missing", file };
    throw err;
  }
  if (!/^[1-9]\d{0,9}\n?$/.test(text)) return { kind: "invalid", file };
  const pid = Number(text.trim());
  if (!probe.isAlive(pid)) return { kind: "dead", file, pid };
  const argv = probe.commandLine(pid);
  if (argv === undefined || isBotCommandLine(argv)) return { kind: "live", file, pid };
  // An empty command line from a pid that is gone now: it exited between the two looks.
  if (argv.length === 0 && !probe.isAlive(pid)) return { kind: "dead", file, pid };
  return { kind: "other", file, pid, command: argv.join(" ") };
}

/**
 * Records `pid` as the data directory's bot, replacing a file left by any earlier process, and
 * returns what removes it again. Written to a private temporary file and renamed into place, so a
 * reader never sees half a number.
 */
export function writePidFile(dataDir: string, pid: number = process.pid): () => void {
  const file = pidFilePath(dataDir);
  const temp = join(dataDir, `.${PID_FILE}.${pid}.${randomBytes(6).toString("hex")}`);
  const fd = openSync(temp, "wx", 0o600);
  try {
    writeSync(fd, `${pid}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
  return () => removePidFile(dataDir, pid);
}

/** Removes the pid file if it still names `pid`: a bot started since on the same directory keeps its own. */
export function removePidFile(dataDir: string, pid: number = process.pid): void {
  const file = pidFilePath(dataDir);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  if (text.trim() === String(pid)) rmSync(file, { force: true });
}
