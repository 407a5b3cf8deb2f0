/** `dbward bot`: run the bot until SIGINT/SIGTERM. */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseBotConfig, startBot, type BotConfig } from "@dbward/bot";
import { createBotLogger } from "@dbward/bot/log/bot-logger";
import { CliError } from "../cli-error.ts";
import { EXIT } from "../exit-codes.ts";
import type { Output } from "../output.ts";
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
  await untilSignal();
  process.off("SIGHUP", onHup);
  await bot.close();
}
