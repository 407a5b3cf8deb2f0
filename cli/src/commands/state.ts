/** `dbward state …`: offline operations on the bot's state store (docs/operations.md). */
import type { Argv } from "yargs";
import type { Output } from "../output.ts";
import { stateEncryptCommand } from "./state-encrypt.ts";

export function stateCommand(out: Output, env: Readonly<Record<string, string | undefined>>) {
  return (y: Argv) =>
    y
      .command(
        "migrate",
        "copy a stopped bot's SQLite state into an empty PostgreSQL database, verifying the audit chain on both sides",
        (c) =>
          c
            .option("from", {
              type: "string",
              demandOption: true,
              describe: "the bot's data directory (holds dbward.sqlite); the bot must be stopped",
            })
            .option("to", {
              type: "string",
              demandOption: true,
              describe: "postgres://USER@HOST:PORT/DATABASE, no password (DBWARD_STATE_PASSWORD)",
            })
            .option("results-dir", {
              type: "string",
              describe:
                "the bot's results.dir, whose stored results are copied into the state (default: FROM/results)",
            })
            .option("json", { type: "boolean", default: false }),
        async (a) =>
          (await import("./state-migrate.ts")).runStateMigrate(out, env, {
            from: a.from,
            to: a.to,
            resultsDir: a.resultsDir,
            json: a.json,
          }),
      )
      .command(stateEncryptCommand(out, env))
      .demandCommand(1, "name a state subcommand");
}
