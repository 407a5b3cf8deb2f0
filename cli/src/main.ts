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
import { runBackup } from "./commands/backup.ts";
import { runBot } from "./commands/bot.ts";
import { runDemo } from "./commands/demo.ts";
import { runDoctor } from "./commands/doctor.ts";
import { runMcp } from "./commands/mcp.ts";
import { runReload } from "./commands/reload.ts";
import { reviewCommand } from "./commands/review.ts";
import { slackCommand } from "./commands/slack.ts";
import { stateCommand } from "./commands/state.ts";
import { policyCommand } from "./commands/policy.ts";
import { keygen } from "./commands/keygen.ts";
import { requestCommand } from "./commands/request.ts";
import { login, logout } from "./commands/login.ts";
import { tokenCommand } from "./commands/token.ts";
import { EXIT, exitCodeFor } from "./exit-codes.ts";
import { processOutput, type Output } from "./output.ts";

export async function main(
  argv: string[],
  env: Readonly<Record<string, string | undefined>>,
  out: Output = processOutput,
  stdin: NodeJS.ReadableStream = process.stdin,
): Promise<number> {
  const review = reviewCommand(out, stdin);
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
      "reload",
      "make the running bot reload its config (SIGHUP to the pid in its data directory)",
      (y) =>
        y
          .option("data-dir", {
            type: "string",
            describe: "the bot's data directory (default: $DBWARD_DATA_DIR, then .dbward-data/bot)",
          })
          .option("timeout", {
            type: "number",
            default: 10,
            describe: "seconds to wait for the bot to confirm the reload (0: do not wait)",
          }),
      (a) => runReload(out, env, { dataDir: a.dataDir, timeout: a.timeout }),
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
    .command("slack", "Slack app helpers", slackCommand(out))
    .command("review", "review SQL from stdin: class, risk and findings", review.builder, review.handler)
    .command(
      "mcp",
      "serve dbward to an AI assistant over MCP (stdio), with your API token's rights and no approval tools",
      (y) => y.option("url", { type: "string" }).option("token", { type: "string" }),
      (a) => runMcp(env, { url: a.url, token: a.token }),
    )
    .command(
      "keygen",
      "print a new Ed25519 key pair and the agent config line",
      (y) => y.option("json", { type: "boolean", default: false }),
      (a) => keygen(out, a.json),
    )
    .command("request", "create, follow and decide requests", requestCommand(out, env))
    .command("audit", "verify and list the audit chain", auditCommand(out, env))
    .command("state", "move the bot's state store (SQLite to PostgreSQL)", stateCommand(out, env))
    .command("policy", "explain which workflow applies to a request", policyCommand(out, env))
    .command("token", "create, list and revoke API tokens", tokenCommand(out, env))
    .command(
      "login",
      "sign in with the bot's identity provider (device code: works over SSH)",
      (y) => y.option("url", { type: "string", describe: "bot URL (default: $DBWARD_URL)" }),
      (a) => login(out, env, { url: a.url }),
    )
    .command(
      "logout",
      "revoke and forget the tokens dbward login stored",
      (y) => y.option("url", { type: "string", describe: "bot URL (default: $DBWARD_URL)" }),
      (a) => logout(out, env, { url: a.url }),
    )
    .command(
      "doctor",
      "check a bot or agent config and what it points at, and say what to fix",
      (y) =>
        y
          .option("bot-config", { type: "string", describe: "bot config (YAML) to check" })
          .option("agent-config", { type: "string", describe: "agent config (YAML) to check" })
          .option("data-dir", { type: "string", describe: "the bot's state directory (as for dbward bot)" }),
      (a) => runDoctor(out, env, { botConfig: a.botConfig, agentConfig: a.agentConfig, dataDir: a.dataDir }),
    )
    .command(
      "backup",
      "copy the bot's state store safely while it runs, then verify the copy's audit chain",
      (y) =>
        y
          .option("data-dir", {
            type: "string",
            default: env.DBWARD_DATA_DIR ?? ".dbward-data/bot",
            describe: "the bot's data directory",
          })
          .option("out", { type: "string", demandOption: true, describe: "the backup file to create" })
          .option("json", { type: "boolean", default: false }),
      (a) => runBackup(out, { dataDir: a.dataDir, out: a.out, json: a.json }),
    )
    .demandCommand(1, "name a command; try dbward --help")
    .strict()
    .help()
    .version(false)
    .fail((msg, err) => {
      if (err) throw err;
      // Thrown, not just recorded: yargs would otherwise go on to run the command's handler.
      throw new CliError(`${msg}\n(run dbward --help for usage)`, EXIT.usage);
    })
    .exitProcess(false);
  try {
    await parser.parseAsync();
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
