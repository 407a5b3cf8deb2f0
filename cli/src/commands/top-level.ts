/**
 * The commands whose options fit on a few lines: running the bot, an agent or the demo, signing
 * in, checking a config, a backup. Each handler imports its implementation when it runs, so
 * these definitions (which `dbward --help` reads) load nothing but yargs.
 */
import type { Argv } from "yargs";
import type { Output } from "../output.ts";

type Env = Readonly<Record<string, string | undefined>>;

export function topLevelCommands(y: Argv, out: Output, env: Env): Argv {
  return y
    .command(
      "bot",
      "run the bot (workflow, audit, token signer, HTTP API)",
      (c) =>
        c
          .option("config", { type: "string", demandOption: true, describe: "bot config (YAML)" })
          .option("data-dir", { type: "string", describe: "state directory" }),
      async (a) => (await import("./bot.ts")).runBot(out, env, { config: a.config, dataDir: a.dataDir }),
    )
    .command(
      "reload",
      "make the running bot reload its config (SIGHUP to the pid in its data directory)",
      (c) =>
        c
          .option("data-dir", {
            type: "string",
            describe: "the bot's data directory (default: $DBWARD_DATA_DIR, then .dbward-data/bot)",
          })
          .option("timeout", {
            type: "number",
            default: 10,
            describe: "seconds to wait for the bot to confirm the reload (0: do not wait)",
          }),
      async (a) =>
        (await import("./reload.ts")).runReload(out, env, { dataDir: a.dataDir, timeout: a.timeout }),
    )
    .command(
      "agent",
      "run an agent (holds the database credentials, executes approved SQL)",
      (c) => c.option("config", { type: "string", demandOption: true, describe: "agent config (YAML)" }),
      async (a) => (await import("./agent.ts")).runAgent(out, env, { config: a.config }),
    )
    .command(
      "demo",
      "run bot, agent and a sample database on this machine and walk one request through",
      (c) =>
        c.option("data-dir", {
          type: "string",
          describe: "keep the demo's state here instead of a temporary directory",
        }),
      async (a) => (await import("./demo.ts")).runDemo(out, { dataDir: a.dataDir }),
    )
    .command(
      "mcp",
      "serve dbward to an AI assistant over MCP (stdio), with your API token's rights and no approval tools",
      (c) =>
        c
          .option("url", { type: "string", describe: "bot URL (default: $DBWARD_URL)" })
          .option("token", { type: "string", describe: "API token (default: $DBWARD_TOKEN)" }),
      async (a) => (await import("./mcp.ts")).runMcp(env, { url: a.url, token: a.token }),
    )
    .command(
      "keygen",
      "print a new Ed25519 key pair and the agent config line",
      (c) => c.option("json", { type: "boolean", default: false }),
      async (a) => (await import("./keygen.ts")).keygen(out, a.json),
    )
    .command(
      "login",
      "sign in with the bot's identity provider (device code: works over SSH)",
      (c) => c.option("url", { type: "string", describe: "bot URL (default: $DBWARD_URL)" }),
      async (a) => (await import("./login.ts")).login(out, env, { url: a.url }),
    )
    .command(
      "logout",
      "revoke and forget the tokens dbward login stored",
      (c) => c.option("url", { type: "string", describe: "bot URL (default: $DBWARD_URL)" }),
      async (a) => (await import("./login.ts")).logout(out, env, { url: a.url }),
    )
    .command(
      "doctor",
      "check a bot or agent config and what it points at, and say what to fix",
      (c) =>
        c
          .option("bot-config", { type: "string", describe: "bot config (YAML) to check" })
          .option("agent-config", { type: "string", describe: "agent config (YAML) to check" })
          .option("data-dir", { type: "string", describe: "the bot's state directory (as for dbward bot)" })
          .option("json", {
            type: "boolean",
            default: false,
            describe: "print the checks as JSON (name, status, message, fix) for scripts",
          }),
      async (a) =>
        (await import("./doctor.ts")).runDoctor(out, env, {
          botConfig: a.botConfig,
          agentConfig: a.agentConfig,
          dataDir: a.dataDir,
          json: a.json,
        }),
    )
    .command(
      "backup",
      "copy the bot's state store safely while it runs, then verify the copy's audit chain",
      (c) =>
        c
          .option("data-dir", {
            type: "string",
            default: env.DBWARD_DATA_DIR ?? ".dbward-data/bot",
            describe: "the bot's data directory",
          })
          .option("out", { type: "string", demandOption: true, describe: "the backup file to create" })
          .option("json", { type: "boolean", default: false }),
      async (a) =>
        (await import("./backup.ts")).runBackup(out, { dataDir: a.dataDir, out: a.out, json: a.json }),
    );
}
