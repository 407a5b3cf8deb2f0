/**
 * `dbward state encrypt`: seals what a store still holds in the clear from before DBWARD_STATE_KEY
 * was set (docs/operations.md, "Encrypting the state"). The bot must be stopped: on SQLite the
 * file is rewritten afterwards (VACUUM) so the clear bytes leave it. The key comes from the
 * environment, as for the bot; nothing it does needs the key on the command line.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Argv, CommandModule } from "yargs";
import { CliError } from "../cli-error.ts";
import { EXIT } from "../exit-codes.ts";
import type { Output } from "../output.ts";
import { readPidFile } from "../pid-file.ts";
import { assertStateUrl, connectPostgres } from "../read-state.ts";

type Env = Readonly<Record<string, string | undefined>>;

interface EncryptArgs {
  readonly dataDir?: string | undefined;
  readonly stateUrl?: string | undefined;
  readonly resultsDir?: string | undefined;
  readonly json: boolean;
}

export function stateEncryptCommand(out: Output, env: Env): CommandModule<object, EncryptArgs> {
  return {
    command: "encrypt",
    describe: "seal the SQL, reasons, results and Slack texts a stopped bot's state still holds in the clear",
    builder: (c: Argv): Argv<EncryptArgs> =>
      c
        .option("data-dir", {
          type: "string",
          describe: "the bot's data directory (SQLite state); the bot must be stopped",
        })
        .option("state-url", {
          type: "string",
          describe: "postgres://USER@HOST:PORT/DATABASE (PostgreSQL state)",
        })
        .option("results-dir", {
          type: "string",
          describe:
            "the bot's results.dir, whose chunk files are sealed too (default with --data-dir: DIR/results)",
        })
        .option("json", { type: "boolean", default: false }),
    handler: async (a) => {
      if ((a.dataDir === undefined) === (a.stateUrl === undefined))
        throw new CliError("name the state: --data-dir DIR or --state-url URL", EXIT.usage);
      const { encryptClearState } = await import("@dbward/bot/crypto/seal-clear-values");
      const run = (store: Parameters<typeof encryptClearState>[0], resultsDir: string | undefined) =>
        encryptClearState(store, env, resultsDir, new Date()).catch((err: unknown) => {
          throw new CliError((err as Error).message, EXIT.refused);
        });
      let summary;
      if (a.dataDir !== undefined) {
        const dataDir = resolve(a.dataDir);
        if (!existsSync(join(dataDir, "dbward.sqlite")))
          throw new CliError(
            `no dbward state in ${dataDir}; point --data-dir at the bot's data directory`,
            EXIT.usage,
          );
        const pid = readPidFile(dataDir);
        if (pid.kind === "live")
          throw new CliError(
            `the bot (pid ${pid.pid}) is running on ${dataDir}: stop it first`,
            EXIT.refused,
          );
        const { openStore } = await import("@dbward/bot/store/open-store");
        const store = openStore(dataDir);
        try {
          summary = await run(store, resolve(a.resultsDir ?? join(dataDir, "results")));
        } finally {
          await store.destroy();
        }
      } else {
        const store = await connectPostgres(assertStateUrl(a.stateUrl ?? "", "--state-url"), env, false);
        try {
          summary = await run(store, a.resultsDir === undefined ? undefined : resolve(a.resultsDir));
        } finally {
          await store.destroy();
        }
      }
      if (a.json) {
        out.print(JSON.stringify(summary));
        return;
      }
      const values = Object.values(summary.values).reduce((n, v) => n + v, 0);
      out.print(
        `sealed ${values} clear values, ${summary.chunks} result rows and ${summary.files} result files; everything in the state is now encrypted`,
      );
    },
  };
}
