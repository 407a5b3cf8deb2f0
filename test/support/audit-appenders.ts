/**
 * Starts append-audit-child.ts processes for the audit-chain concurrency tests: each opens the
 * store (a SQLite data dir or a postgres:// URL), says ready, and on "go" appends `count` events.
 * `appendAtOnce` starts them all, releases them together and resolves with their exits.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CHILD = fileURLToPath(new URL("./append-audit-child.ts", import.meta.url));

export interface AppenderExit {
  readonly label: string;
  readonly code: number | null;
  readonly stderr: string;
}

function startAppender(target: string, count: number, label: string) {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, target, String(count), label], {
    cwd: REPO_ROOT,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
  child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  const exited = once(child, "exit").then(([code]): AppenderExit => ({
    label,
    code: code as number | null,
    stderr,
  }));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on("data", () => {
      if (stdout.includes("ready\n")) resolve();
    });
    void exited.then((r) => reject(new Error(`appender ${label} exited before ready: ${r.stderr}`)));
  });
  return { child, ready, exited };
}

/** One process per label, all appending `count` events to `target` from the same moment. */
export async function appendAtOnce(
  target: string,
  count: number,
  labels: readonly string[],
): Promise<AppenderExit[]> {
  const children = labels.map((label) => startAppender(target, count, label));
  await Promise.all(children.map((c) => c.ready));
  for (const c of children) c.child.stdin.write("go\n");
  return Promise.all(children.map((c) => c.exited));
}
