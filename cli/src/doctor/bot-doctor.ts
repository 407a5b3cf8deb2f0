/**
 * `dbward doctor --bot-config FILE`: the bot's config, its data directory and key file
 * (SECURITY.md: 0700 directory, 0600 key), its state store, the secrets it reads from the
 * environment, and — when Slack is configured — the Slack token, checked with `auth.test`.
 * Read-only: nothing is created, fixed or written.
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { STORE_FILE, agentTokenEnvName, parseBotConfig, type BotConfig } from "@dbward/bot";
import { parseMonitoringToken, METRICS_TOKEN_ENV } from "@dbward/bot/http/monitoring-auth";
import { KEY_FILE } from "@dbward/bot/keys/signing-key-file";
import { parseSlackSettings, SLACK_ENV } from "@dbward/bot/slack/slack-settings";
import { SCHEMA_VERSION } from "@dbward/bot/store/open-store";
import Database from "better-sqlite3";
import { botDataDir } from "../commands/bot.ts";
import { fail, fetchFailure, modeText, ok, warn, type Check } from "./check.ts";

type Env = Readonly<Record<string, string | undefined>>;

export interface BotDoctorOptions {
  readonly dataDir?: string | undefined;
  readonly fetch?: typeof fetch;
}

export async function checkBot(file: string, env: Env, options: BotDoctorOptions = {}): Promise<Check[]> {
  let config: BotConfig;
  try {
    config = parseBotConfig(readFileSync(file, "utf8"), file);
  } catch (err) {
    return [fail("config", (err as Error).message, `fix the keys named above in ${file}`)];
  }
  const dataDir = botDataDir(options.dataDir, env, config);
  return [
    ok(
      "config",
      `${config.databases.length} databases, ${config.workflows.length} workflows, ${config.agents.length} agents; listens on ${config.listen.host}:${config.listen.port}`,
    ),
    ...checkDataDir(dataDir),
    ...checkKeyFile(join(dataDir, KEY_FILE)),
    ...checkStore(join(dataDir, STORE_FILE)),
    ...checkEnvSecrets(config, env),
    ...(await checkSlack(config, env, options.fetch ?? fetch)),
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

function checkKeyFile(file: string): Check[] {
  const what = "signing key";
  if (!existsSync(file)) return [ok(what, `${file} does not exist yet; the bot creates it with mode 0600`)];
  const mode = statSync(file).mode;
  if ((mode & 0o077) !== 0) {
    return [
      fail(
        what,
        `${file} is mode ${modeText(mode)}; the bot refuses to start with a key others can read`,
        `chmod 600 ${file}, and rotate the key if it may have been copied (docs/security-hardening.md)`,
      ),
    ];
  }
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as { kid?: unknown; secret_key?: unknown };
    if (typeof parsed.kid !== "string" || typeof parsed.secret_key !== "string")
      throw new Error("no kid/secret_key");
    return [ok(what, `key id ${parsed.kid}, mode 0600`)];
  } catch {
    return [
      fail(what, `${file} does not hold a dbward signing key`, "restore it from backup, or rotate the key"),
    ];
  }
}

function checkStore(file: string): Check[] {
  const what = "state store";
  if (!existsSync(file)) return [ok(what, `${file} does not exist yet; the bot creates it`)];
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const row = db.prepare("SELECT MAX(version) AS v FROM schema_version").get() as { v: number | null };
    const version = Number(row.v ?? 0);
    if (version > SCHEMA_VERSION)
      return [
        fail(
          what,
          `schema version ${version} is newer than this dbward (${SCHEMA_VERSION})`,
          "upgrade dbward",
        ),
      ];
    return [
      ok(
        what,
        `schema version ${version}${version < SCHEMA_VERSION ? " (the bot migrates it at start)" : ""}`,
      ),
    ];
  } catch (err) {
    return [
      fail(
        what,
        `${file} cannot be read: ${(err as Error).message}`,
        "check its owner and mode, or restore a backup",
      ),
    ];
  } finally {
    db?.close();
  }
}

function checkEnvSecrets(config: BotConfig, env: Env): Check[] {
  const checks: Check[] = [];
  try {
    const token = parseMonitoringToken(env);
    checks.push(
      token === undefined
        ? warn(
            "monitoring token",
            `${METRICS_TOKEN_ENV} is not set`,
            "set it so Prometheus can read /metrics (docs/operations.md)",
          )
        : ok("monitoring token", `${METRICS_TOKEN_ENV} is set`),
    );
  } catch (err) {
    checks.push(fail("monitoring token", (err as Error).message, `set a longer ${METRICS_TOKEN_ENV}`));
  }
  const shaped: [string, RegExp][] = [
    ["DBWARD_ADMIN_TOKEN", /^dbw_[A-Za-z0-9_-]{43}$/],
    ...config.agents.map((a): [string, RegExp] => [agentTokenEnvName(a.id), /^dbwa_[A-Za-z0-9_-]{43}$/]),
  ];
  for (const [name, shape] of shaped) {
    const value = env[name];
    if (value === undefined || value === "") continue;
    checks.push(
      shape.test(value)
        ? ok("bootstrap token", `${name} is well formed`)
        : fail(
            "bootstrap token",
            `${name} is not a ${shape.source.slice(1, 5)}… token`,
            `generate one with: dbward keygen, or unset ${name}`,
          ),
    );
  }
  return checks;
}

async function checkSlack(config: BotConfig, env: Env, doFetch: typeof fetch): Promise<Check[]> {
  const what = "Slack";
  let settings;
  try {
    settings = parseSlackSettings(env);
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
  return checks.length > 0
    ? checks
    : [ok(what, `auth.test accepted the token (team ${String(answer.team)}, bot ${settings.botId})`)];
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
