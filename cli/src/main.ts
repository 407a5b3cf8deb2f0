/**
 * The `dbward` command line: one entry point for running the bot, the agent and the demo, and
 * for talking to a bot's API. Errors print one plain line and exit with a documented code.
 *
 * Every command loads its implementation when it runs (a dynamic import in its handler), and
 * its builder, which yargs runs for `--help` too, imports only option tables: `dbward --help`,
 * `--version`, `<command> --help` and the commands that only talk HTTP to the bot never load
 * Bolt, the database drivers, the SQL parsers or the MCP SDK.
 */
import { DbwardError } from "@dbward/shared/errors";
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { CliError } from "./cli-error.ts";
import { policyCommand } from "./commands/policy.ts";
import { schemaCommand } from "./commands/schema.ts";
import { requestCommand } from "./commands/request.ts";
import { reviewCommand } from "./commands/review.ts";
import { slackCommand } from "./commands/slack.ts";
import { stateCommand } from "./commands/state.ts";
import { tokenCommand } from "./commands/token.ts";
import { topLevelCommands } from "./commands/top-level.ts";
import { EXIT, exitCodeFor } from "./exit-codes.ts";
import { assertNumberOptions } from "./number-options.ts";
import { processOutput, type Output } from "./output.ts";
import { withHints, type CommandNames } from "./usage-hints.ts";
import { tuneV8 } from "./v8-tuning.ts";

type Env = Readonly<Record<string, string | undefined>>;

export async function main(
  argv: string[],
  env: Env,
  out: Output = processOutput,
  stdin: NodeJS.ReadableStream = process.stdin,
): Promise<number> {
  // The names of the command being parsed, for "did you mean" when yargs refuses a word or flag.
  let names: CommandNames | undefined;
  const review = reviewCommand(out, stdin);
  const parser = topLevelCommands(yargs(argv), out, env)
    .scriptName("dbward")
    .usage("dbward <command>\n\nAn approval gate in front of production databases.")
    .command("slack", "Slack app helpers", slackCommand(out))
    .command("review", "review SQL from stdin: class, risk and findings", review.builder, review.handler)
    .command("request", "create, follow and decide requests", requestCommand(out, env))
    .command("audit", "verify and list the audit chain", async (y) =>
      (await import("./commands/audit.ts")).auditCommand(out, env)(y),
    )
    .command("state", "move the bot's state store (SQLite to PostgreSQL)", stateCommand(out, env))
    .command("policy", "explain which workflow applies to a request", policyCommand(out, env))
    .command("schema", "the schema context agents report (tables, sizes, cascades)", schemaCommand(out, env))
    .command("token", "create, list and revoke API tokens", tokenCommand(out, env))
    .completion("completion", "print a bash/zsh completion script: dbward completion >> ~/.bashrc")
    .middleware(
      // The second argument is the yargs instance of the command being parsed (missing from
      // @types/yargs): its options and subcommands are what a typo is compared with.
      ((_argv: unknown, y: ParsingContext) => {
        names = namesOf(y);
      }) as unknown as () => void,
      true,
    )
    .middleware(((parsed: Record<string, unknown>, y: ParsingContext) =>
      assertNumberOptions(parsed, y.getOptions().number, argv)) as unknown as () => void)
    .demandCommand(1, "name a command; try dbward --help")
    .strict()
    .help()
    // Read only when asked for: the lookup costs every other command nothing.
    .version("version", "print dbward's version", argv.includes("--version") ? await versionText() : "")
    .fail((msg, err) => {
      if (err) throw err;
      // Thrown, not just recorded: yargs would otherwise go on to run the command's handler.
      throw new CliError(`${withHints(msg, names, argv)}\n(run dbward --help for usage)`, EXIT.usage);
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
  tuneV8();
  process.exitCode = await main(hideBin(process.argv), process.env);
}

/** What the middleware reads of the yargs instance it is given. */
interface ParsingContext {
  getOptions(): { key: Record<string, unknown>; number: string[]; alias: Record<string, string[]> };
  getInternalMethods?(): { getCommandInstance(): { getCommands(): string[] } };
}

function namesOf(y: ParsingContext): CommandNames {
  const options = y.getOptions();
  return {
    commands: y.getInternalMethods?.().getCommandInstance().getCommands() ?? [],
    options: [...Object.keys(options.key), ...Object.values(options.alias).flat()],
  };
}

async function versionText(): Promise<string> {
  return (await import("@dbward/bot/runtime-files")).packageVersion();
}
