import type { Output } from "../../cli/src/output.ts";

/** An Output that keeps what the CLI printed, for assertions. */
export function captureOutput(): Output & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, print: (t) => stdout.push(t), error: (t) => stderr.push(t) };
}
