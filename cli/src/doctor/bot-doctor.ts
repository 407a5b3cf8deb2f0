/**
 * `dbward doctor --bot-config FILE`: the bot's config, its data directory and key file
 * (SECURITY.md: 0700 directory, 0600 key), its state store (the SQLite file, or the PostgreSQL
 * database of `state.url`), its results directory (none when results live in PostgreSQL), the
 * secrets it reads from the environment, its listen address, OIDC discovery when `oidc:` is set, and — when
 * Slack is configured — the Slack token, checked with `auth.test`.
 *
 * Everything `dbward bot` refuses at start fails here too, in the bot's words: the config file
 * and its parse, the Slack variables, the monitoring token, webhook secrets, the key file, the
 * store's schema, a malformed bootstrap token, a listen address it cannot bind, a log level pino
 * does not know.
 * Read-only: nothing is created, fixed or written.
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseBotConfig, type BotConfig } from "@dbward/bot";
import { KEY_FILE } from "@dbward/bot/keys/signing-key-file";
import { createBotLogger } from "@dbward/bot/log/bot-logger";
import { parseSlackSettings, SLACK_ENV } from "@dbward/bot/slack/slack-settings";
import { fromBase64url } from "@dbward/shared";
import { botDataDir } from "../commands/bot.ts";
import { checkBotSecrets } from "./bot-secrets-check.ts";
import { fail, fetchFailure, modeText, ok, warn, type Check } from "./check.ts";
import { checkListen } from "./listen-check.ts";
import { checkOidcDiscovery } from "./oidc-check.ts";
import { checkResults } from "./results-dir-check.ts";
import { checkStateStore } from "./state-store-check.ts";

type Env = Readonly<Record<string, string | undefined>>;

export interface BotDoctorOptions {
  readonly dataDir?: string | undefined;
  readonly fetch?: typeof fetch;
}

export async function checkBot(file: string, env: Env, options: BotDoctorOptions = {}): Promise<Check[]> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    // dbward bot's words for it (commands/bot.ts).
    const message = `cannot read the bot config ${file}: ${(err as Error).message}`;
    return [fail("config", message, "check the path and that this user may read it")];
  }
  let config: BotConfig;
  try {
    config = parseBotConfig(text, file);
  } catch (err) {
    return [fail("config", (err as Error).message, `fix the keys named above in ${file}`)];
  }
  const dataDir = botDataDir(options.dataDir, env, config);
  const doFetch = options.fetch ?? fetch;
  return [
    ok(
      "config",
      `${config.databases.length} databases, ${config.workflows.length} workflows, ${config.agents.length} agents; listens on ${config.listen.host}:${config.listen.port}`,
    ),
    ...checkDataDir(dataDir),
    // An HSM token key has no file to check; the bot itself refuses a key it cannot open.
    ...(config.signing.tokens.provider === "file"
      ? checkKeyFile(join(dataDir, KEY_FILE), config.state.url !== undefined)
      : [
          ok(
            "signing key",
            `signing.tokens is on ${config.signing.tokens.provider}: no key file; the bot checks the key at start`,
          ),
        ]),
    ...(await checkStateStore(config, dataDir, env)),
    ...checkResults(config, dataDir),
    ...checkBotSecrets(config, env),
    ...checkLogLevel(env),
    ...(await checkListen(config.listen, doFetch)),
    ...(await checkOidcDiscovery(config.oidc)),
    ...(await checkSlack(config, env, doFetch)),
  ];
}

function checkDataDir(dir: string): Check[] {
  const what = "data directory";
  if (!existsSync(dir)) {
    let parent = dirname(dir);
    while (!existsSync(parent) && dirname(parent) !== parent) parent = dirname(parent);
    return writable(parent)
      ? [ok(what, `${dir} does not exist yet; the bot creates it with mode 0700`)]
      : [
          fail(
            what,
            `${dir} does not exist and ${parent} is not writable`,
            `create ${dir} (mode 0700) owned by the bot's user`,
          ),
        ];
  }
  const st = statSync(dir);
  if (!st.isDirectory())
    return [fail(what, `${dir} is not a directory`, "point --data-dir or data_dir at a directory")];
  const checks: Check[] = [];
  if ((st.mode & 0o077) !== 0) {
    checks.push(
      fail(
        what,
        `${dir} is mode ${modeText(st.mode)}: other users can read the state store`,
        `chmod 700 ${dir}`,
      ),
    );
  }
  if (!writable(dir))
    checks.push(fail(what, `${dir} is not writable by this user`, `chown it to the bot's user`));
  return checks.length > 0 ? checks : [ok(what, `${dir}, mode 0700, writable`)];
}

/**
 * The refusals of the bot's key reader (keys/signing-key-file.ts), in its words: a key file
 * others can read, one that is not JSON, one without an Ed25519 key. On PostgreSQL state a
 * missing key is a warning: every instance must sign with the same key (docs/deployment.md), and
 * one that creates its own signs with a kid the agents have not pinned.
 */
function checkKeyFile(file: string, shared: boolean): Check[] {
  const what = "signing key";
  if (!existsSync(file))
    return shared
      ? [
          warn(
            what,
            `${file} does not exist: on PostgreSQL state every instance needs the same key, and this one would create a key of its own`,
            `copy signing-key.json (mode 0600) from the instance that created it, or from your secret store, into this data directory`,
          ),
        ]
      : [ok(what, `${file} does not exist yet; the bot creates it with mode 0600`)];
  const mode = statSync(file).mode;
  if ((mode & 0o077) !== 0) {
    return [
      fail(
        what,
        `${file} is readable by group or others (mode ${(mode & 0o777).toString(8)}); run chmod 600 on it and rotate the key if it may have leaked`,
        `chmod 600 ${file}, and rotate the key if it may have been copied (docs/security-hardening.md)`,
      ),
    ];
  }
  let parsed: { kid?: unknown; secret_key?: unknown };
  try {
    parsed = (JSON.parse(readFileSync(file, "utf8")) ?? {}) as typeof parsed;
  } catch {
    return [fail(what, `${file} is not valid JSON`, "restore it from backup, or rotate the key")];
  }
  const secret = typeof parsed.secret_key === "string" ? fromBase64url(parsed.secret_key) : undefined;
  if (secret?.length !== 32 || typeof parsed.kid !== "string" || parsed.kid === "")
    return [
      fail(
        what,
        `${file} does not hold an Ed25519 key (kid, secret_key)`,
        "restore it from backup, or rotate the key",
      ),
    ];
  return [ok(what, `key id ${parsed.kid}, mode 0600`)];
}

async function checkSlack(config: BotConfig, env: Env, doFetch: typeof fetch): Promise<Check[]> {
  const what = "Slack";
  let settings;
  try {
    settings = parseSlackSettings(env, config.slack?.mode);
  } catch (err) {
    return [fail(what, (err as Error).message, "set the Slack variables named above (docs/slack.md)")];
  }
  if (settings === undefined)
    return [ok(what, `not configured (no ${SLACK_ENV.botToken}): the bot serves the API only`)];
  const url = `${settings.apiUrl}auth.test`;
  let answer: { ok?: unknown; error?: unknown; bot_id?: unknown; user_id?: unknown; team?: unknown };
  try {
    const res = await doFetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${settings.botToken.reveal()}` },
      redirect: "error",
      signal: AbortSignal.timeout(10_000),
    });
    answer = (await res.json()) as typeof answer;
  } catch (err) {
    return [
      fail(
        what,
        `cannot reach ${url}: ${fetchFailure(err)}`,
        `check ${SLACK_ENV.apiUrl}, DNS and egress to Slack`,
      ),
    ];
  }
  if (answer.ok !== true) {
    return [
      fail(
        what,
        `auth.test refused the token: ${String(answer.error)}`,
        `put the app's current bot token (xoxb-…) in ${SLACK_ENV.botToken}`,
      ),
    ];
  }
  const checks: Check[] = [];
  if (answer.bot_id !== settings.botId)
    checks.push(
      fail(
        what,
        `the token belongs to bot ${String(answer.bot_id)}, not ${SLACK_ENV.botId}=${settings.botId}`,
        `set ${SLACK_ENV.botId}=${String(answer.bot_id)}`,
      ),
    );
  if (answer.user_id !== settings.botUserId)
    checks.push(
      fail(
        what,
        `the token's bot user is ${String(answer.user_id)}, not ${SLACK_ENV.botUserId}=${settings.botUserId}`,
        `set ${SLACK_ENV.botUserId}=${String(answer.user_id)}`,
      ),
    );
  if (config.slack === undefined)
    checks.push(
      warn(what, "no slack.approvals_channel in the config", "add one, or approval posts are not sent"),
    );
  const bot =
    checks.length > 0
      ? checks
      : [ok(what, `auth.test accepted the token (team ${String(answer.team)}, bot ${settings.botId})`)];
  // Apart from the bot token's checks: the app token's result must not hide that auth.test passed.
  return settings.mode === "socket"
    ? [...bot, ...(await checkAppToken(settings.apiUrl, settings.appToken.reveal(), doFetch))]
    : bot;
}

/**
 * Socket Mode: `apps.connections.open` with the app-level token, once, as the bot's start does
 * (bot/src/slack/socket-receiver.ts); a refused token stops that start.
 */
async function checkAppToken(apiUrl: string, appToken: string, doFetch: typeof fetch): Promise<Check[]> {
  const what = "Slack Socket Mode";
  try {
    const res = await doFetch(`${apiUrl}apps.connections.open`, {
      method: "POST",
      headers: { authorization: `Bearer ${appToken}` },
      redirect: "error",
      signal: AbortSignal.timeout(10_000),
    });
    const answer = (await res.json()) as { ok?: unknown; error?: unknown };
    if (answer.ok === true) return [ok(what, "apps.connections.open accepted the app-level token")];
    return [
      fail(
        what,
        `Slack refused the app-level token (${SLACK_ENV.appToken}): ${String(answer.error)}`,
        "make an app-level token with the connections:write scope (Basic Information → App-Level Tokens)",
      ),
    ];
  } catch (err) {
    return [
      fail(
        what,
        `cannot reach ${apiUrl}apps.connections.open: ${fetchFailure(err)}`,
        "check egress to Slack",
      ),
    ];
  }
}

/** `DBWARD_LOG_LEVEL`, as `dbward bot` builds its logger from it (pino refuses a level it does not know). */
function checkLogLevel(env: Env): Check[] {
  const level = env.DBWARD_LOG_LEVEL;
  if (level === undefined) return [];
  try {
    createBotLogger({ level, destination: { write: () => undefined } });
    return [ok("log level", `DBWARD_LOG_LEVEL=${level}`)];
  } catch (err) {
    return [
      fail(
        "log level",
        (err as Error).message,
        "set DBWARD_LOG_LEVEL to one of fatal, error, warn, info, debug, trace, silent, or unset it",
      ),
    ];
  }
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
