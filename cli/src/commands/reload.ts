/**
 * `dbward reload [--data-dir DIR] [--timeout SECONDS]`: sends SIGHUP to the bot recorded in
 * `<data dir>/bot.pid` and waits for the `config.reloaded` audit event that a reload the bot
 * accepted appends. The pid is signalled only when it is a live dbward bot (pid-file.ts): a pid
 * file left by a dead bot must never send a signal to whatever process has that pid now.
 *
 * A refused config (it does not parse, or a webhook secret is missing) leaves the running config
 * in place and appends no event, so no event within the timeout is reported as a failure; the
 * bot's log says why.
 */
import { resolve } from "node:path";
import { listAudit } from "@dbward/bot";
import { CliError } from "../cli-error.ts";
import { EXIT } from "../exit-codes.ts";
import type { Output } from "../output.ts";
import { readPidFile, type PidFileState } from "../pid-file.ts";
import { withStateFile } from "../read-state.ts";

export interface ReloadArgs {
  readonly dataDir?: string | undefined;
  /** Seconds to wait for the bot to confirm; 0 sends the signal and returns. */
  readonly timeout: number;
}

const POLL_MS = 100;

export async function runReload(
  out: Output,
  env: Readonly<Record<string, string | undefined>>,
  args: ReloadArgs,
): Promise<void> {
  if (!Number.isFinite(args.timeout) || args.timeout < 0)
    throw new CliError("--timeout must be a number of seconds, 0 or more", EXIT.usage);
  const dataDir = resolve(args.dataDir ?? env.DBWARD_DATA_DIR ?? ".dbward-data/bot");
  const pid = liveBotPid(readPidFile(dataDir), dataDir);
  const sentAt = new Date();
  signal(pid);
  if (args.timeout === 0) {
    out.print(`sent SIGHUP to the bot (pid ${pid}); not waiting for it to confirm`);
    return;
  }
  const seq = await waitForReload(dataDir, sentAt, args.timeout * 1000);
  if (seq === undefined)
    throw new CliError(
      `sent SIGHUP to the bot (pid ${pid}), but it recorded no config.reloaded event within ${args.timeout} s: it refused the new config and kept the old one (its log says why), or it is still busy`,
      EXIT.failure,
    );
  out.print(`sent SIGHUP to the bot (pid ${pid}); config reloaded (audit event #${seq})`);
}

function liveBotPid(state: PidFileState, dataDir: string): number {
  switch (state.kind) {
    case "live":
      return state.pid;
    case "missing":
      throw new CliError(
        `no bot pid file at ${state.file}: no bot is running with the data directory ${dataDir} (a bot writes it once it listens); check --data-dir`,
        EXIT.notFound,
      );
    case "invalid":
      throw new CliError(
        `${state.file} does not hold a process id; remove it (the bot writes it again at its next start)`,
        EXIT.failure,
      );
    case "dead":
      throw new CliError(
        `the bot recorded in ${state.file} (pid ${state.pid}) is no longer running; nothing was signalled. Start the bot (the stale file does not stop it)`,
        EXIT.unreachable,
      );
    case "other":
      throw new CliError(
        `pid ${state.pid} in ${state.file} is now another program (${state.command || "unknown"}), not a dbward bot: the bot that wrote it is gone; nothing was signalled`,
        EXIT.unreachable,
      );
  }
}

function signal(pid: number): void {
  try {
    process.kill(pid, "SIGHUP");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EPERM")
      throw new CliError(
        `not allowed to signal the bot (pid ${pid}): run dbward reload as the bot's user`,
        EXIT.auth,
      );
    if (code === "ESRCH")
      throw new CliError(`the bot (pid ${pid}) exited just now; nothing was signalled`, EXIT.unreachable);
    throw err;
  }
}

/** The sequence number of the first `config.reloaded` event at or after `since`, if one comes in time. */
async function waitForReload(dataDir: string, since: Date, timeoutMs: number): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  return withStateFile(dataDir, async (store) => {
    for (;;) {
      const [event] = await listAudit(store, {
        action: "config.reloaded",
        since: since.toISOString(),
        limit: 1,
      });
      if (event !== undefined) return event.seq;
      if (Date.now() >= deadline) return undefined;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  });
}
