/**
 * The `dbward` command line: one entry point for running the bot, the agent and the demo, and
 * for talking to a bot's API. Errors print one plain line and exit with a documented code.
 */
import { DbwardError } from "@dbward/shared";
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { CliError } from "./cli-error.ts";
import { auditCommand } from "./commands/audit.ts";
import { runAgent } from "./commands/agent.ts";
import { runBot } from "./commands/bot.ts";
import { runDemo } from "./commands/demo.ts";
import { policyCommand } from "./commands/policy.ts";
import { keygen } from "./commands/keygen.ts";
import { requestCommand } from "./commands/request.ts";
import { EXIT, exitCodeFor } from "./exit-codes.ts";
import { processOutput, type Output } from "./output.ts";

export async function main(
  argv: string[],
  env: Readonly<Record<string, string | undefined>>,
  out: Output = processOutput,
): Promise<number> {
  let usageError: string | undefined;
  const parser = yargs(argv)
    .scriptName("dbward")
    .usage("dbward <command>\n\nAn approval gate in front of production databases.")
    .command(
      "bot",
      "run the bot (workflow, audit, token signer, HTTP API)",
      (y) =>
        y
          .option("config", { type: "string", demandOption: true, describe: "bot config (YAML)" })
          .option("data-dir", { type: "string", describe: "state directory" }),
      (a) => runBot(out, env, { config: a.config, dataDir: a.dataDir }),
    )
    .command(
      "agent",
      "run an agent (holds the database credentials, executes approved SQL)",
      (y) => y.option("config", { type: "string", demandOption: true, describe: "agent config (YAML)" }),
      (a) => runAgent(out, env, { config: a.config }),
    )
    .command(
      "demo",
      "run bot, agent and a sample database on this machine and walk one request through",
      (y) =>
        y.option("data-dir", {
          type: "string",
          describe: "keep the demo's state here instead of a temporary directory",
        }),
      (a) => runDemo(out, { dataDir: a.dataDir }),
    )
    .command(
      "keygen",
      "print a new Ed25519 key pair and the agent config line",
      (y) => y.option("json", { type: "boolean", default: false }),
      (a) => keygen(out, a.json),
    )
    .command("request", "create, follow and decide requests", requestCommand(out, env))
    .command("audit", "verify and list the audit chain", auditCommand(out, env))
    .command("policy", "explain which workflow applies to a request", policyCommand(out, env))
    .demandCommand(1, "name a command; try dbward --help")
    .strict()
    .help()
    .version(false)
    .fail((msg, err) => {
      if (err) throw err;
      usageError = msg;
    })
    .exitProcess(false);
  try {
    await parser.parseAsync();
    if (usageError !== undefined) {
      out.error(`${usageError}\n(run dbward --help for usage)`);
      return EXIT.usage;
    }
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CliError) {
      out.error(`dbward: ${err.message}`);
      return err.exitCode;
    }
    if (err instanceof DbwardError) {
      out.error(`dbward: ${err.message}`);
      return exitCodeFor(err.code);
    }
    throw err;
  }
}

export async function run(): Promise<void> {
  process.exitCode = await main(hideBin(process.argv), process.env);
}
