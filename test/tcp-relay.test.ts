/**
 * The TCP relay the connection-loss and HA tests cut connections with (support/tcp-relay.ts):
 * a relayed connection whose upstream has just closed, reset by the pair's error or by `cut()`
 * while the relay is still ending the client's side, leaves nothing behind that keeps the
 * process from exiting. Node 20 cannot reset a socket whose shutdown is pending, and the failed
 * reset left a handle that made the exiting process spin at 100% CPU after its tests had passed.
 * Each case runs in a process of its own (support/tcp-relay-child.ts), which must exit by itself.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, test } from "node:test";

const CHILD = new URL("./support/tcp-relay-child.ts", import.meta.url).pathname;
/** The child is done in well under a second; a hung one burns a core until killed. */
const EXIT_MS = 15_000;

async function runChild(
  scenario: "error" | "cut",
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, scenario], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), EXIT_MS);
  const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

describe("a relayed connection reset while the relay ends it", () => {
  for (const [scenario, what] of [
    ["error", "the upstream closes as the client sends: the failed write resets the client's side"],
    ["cut", "cut() just after the upstream closed"],
  ] as const) {
    test(`${what}; the process exits once everything is closed`, async () => {
      const { code, stdout, stderr } = await runChild(scenario);
      assert.match(stdout, /^done$/m, `the child closed everything (stderr: ${stderr})`);
      assert.equal(
        code,
        0,
        `the child exited by itself within ${EXIT_MS} ms, not killed (stderr: ${stderr})`,
      );
    });
  }
});
