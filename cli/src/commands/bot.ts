/**
 * `dbward bot`: run the bot until SIGINT/SIGTERM; SIGHUP reloads its config. Once it listens and
 * handles SIGHUP, its pid is recorded in `<data dir>/bot.pid` for `dbward reload` (pid-file.ts),
 * and removed again on a clean stop.
 */
import { readFileSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { parseBotConfig, startBot, type BotConfig } from "@dbward/bot";
import { createBotLogger } from "@dbward/bot/log/bot-logger";
import { CliError } from "../cli-error.ts";
import { EXIT } from "../exit-codes.ts";
import type { Output } from "../output.ts";
import { readPidFile, writePidFile } from "../pid-file.ts";
import { untilSignal } from "../until-signal.ts";

/** Where the bot keeps its state: the flag, then DBWARD_DATA_DIR, then `data_dir` in the config. */
export function botDataDir(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  config: BotConfig,
): string {
  return resolve(flag ?? env.DBWARD_DATA_DIR ?? config.data_dir ?? ".dbward-data/bot");
}

export async function runBot(
  out: Output,
  env: Readonly<Record<string, string | undefined>>,
  args: { config: string; dataDir?: string | undefined },
): Promise<void> {
  let text: string;
  try {
    text = readFileSync(args.config, "utf8");
  } catch (err) {
    throw new CliError(`cannot read the bot config ${args.config}: ${(err as Error).message}`, EXIT.usage);
  }
  const config = parseBotConfig(text, args.config);
  const dataDir = botDataDir(args.dataDir, env, config);
  const logger = createBotLogger({ level: env.DBWARD_LOG_LEVEL ?? "info" });
  forgetStalePidFile(dataDir);
  const bot = await startBot({ config, dataDir, env, logger });
  for (const s of bot.bootstrapSecrets) {
    out.error(`generated ${s.kind} token for ${s.subject} (shown once, stored only as a hash): ${s.secret}`);
  }
  out.error(`dbward bot listening on ${bot.url}; data in ${dataDir}; public key ${bot.signingKey.kid}`);
  // SIGHUP reloads the config; an invalid file is refused and the running config stays.
  const onHup = (): void => {
    try {
      const next = parseBotConfig(readFileSync(args.config, "utf8"), args.config);
      bot.reload(next).then(
        () => logger.info("config reloaded"),
        (err: unknown) => logger.error({ err }, "config reload failed; the old config stays"),
      );
    } catch (err) {
      logger.error({ err: (err as Error).message }, "new config refused; the old config stays");
    }
  };
  process.on("SIGHUP", onHup);
  // Only now: until the handler is on, a SIGHUP would end the process (its default action).
  const before = readPidFile(dataDir);
  if (before.kind === "live" && before.pid !== process.pid)
    logger.warn(
      { pid: before.pid, file: before.file },
      "another bot recorded itself for this data directory; dbward reload now signals this one",
    );
  let forgetPid: () => void;
  try {
    forgetPid = writePidFile(dataDir);
  } catch (err) {
    await bot.close();
    throw err;
  }
  try {
    await untilSignal();
  } finally {
    process.off("SIGHUP", onHup);
    forgetPid();
  }
  await bot.close();
}

/**
 * A pid file that names no live bot (its process died, or the pid now belongs to something else,
 * or, in a restarted container, to this very process) is removed before the start, so that
 * `dbward reload` cannot signal this bot before it handles SIGHUP.
 */
function forgetStalePidFile(dataDir: string): void {
  const state = readPidFile(dataDir);
  if (state.kind === "missing" || (state.kind === "live" && state.pid !== process.pid)) return;
  rmSync(state.file, { force: true });
}
