/**
 * `dbward doctor --agent-config FILE`: the agent's config, its ledger directory, the bot (its
 * `/health`, and whether the key the bot signs with is one this agent has pinned), and every
 * configured database, each asked `SELECT 1` through the agent's own driver.
 *
 * The bot's public key is compared, never adopted: an agent that trusted whatever key the bot
 * URL serves would trust whoever answers at that URL (SECURITY.md: the agent fetches nothing it
 * must trust from the bot). A mismatch is reported with the key id only.
 */
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { createDriver, loadAgentConfig, type AgentConfig, type DatabaseConfig } from "@dbward/agent";
import { botEndpoint } from "@dbward/agent/bot-url";
import { fromBase64url, type PublicKeysView } from "@dbward/shared";
import { fail, fetchFailure, ok, warn, type Check } from "./check.ts";

type Env = Readonly<Record<string, string | undefined>>;

const HTTP_TIMEOUT_MS = 5000;
const DATABASE_TIMEOUT_MS = 10_000;

export async function checkAgent(file: string, env: Env, doFetch: typeof fetch = fetch): Promise<Check[]> {
  let config: AgentConfig;
  try {
    config = loadAgentConfig(readFileSync(file, "utf8"), env, file);
  } catch (err) {
    return [
      fail(
        "config",
        (err as Error).message,
        `fix the keys named above in ${file}, or set the variables it names`,
      ),
    ];
  }
  const checks = [
    ok("config", `agent ${config.id}, ${config.databases.length} databases, bot ${config.botUrl}`),
    checkLedgerDir(config.dataDir),
  ];
  const reachable = await checkBotHealth(config, doFetch);
  checks.push(reachable);
  if (reachable.status === "ok") checks.push(...(await checkPinnedKeys(config, doFetch)));
  for (const db of config.databases) checks.push(await checkDatabase(db));
  return checks;
}

function checkLedgerDir(dir: string): Check {
  const what = "ledger directory";
  const target = existsSync(dir) ? dir : dirname(dir);
  try {
    accessSync(target, constants.W_OK);
    return ok(what, existsSync(dir) ? `${dir} is writable` : `${dir} will be created`);
  } catch {
    return fail(what, `${target} is not writable by this user`, `create ${dir} owned by the agent's user`);
  }
}

async function checkBotHealth(config: AgentConfig, doFetch: typeof fetch): Promise<Check> {
  const url = botEndpoint(config.botUrl, "/health");
  try {
    const res = await doFetch(url, { redirect: "error", signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
    const body = (await res.json().catch(() => ({}))) as { status?: unknown };
    if (res.ok && body.status === "ok") return ok("bot", `${url} answered ok`);
    return fail(
      "bot",
      `${url} answered HTTP ${res.status}`,
      "check that bot_url points at the dbward bot, not another service",
    );
  } catch (err) {
    return fail(
      "bot",
      `cannot reach ${url}: ${fetchFailure(err)}`,
      "check bot_url, DNS, the proxy, and egress from this host",
    );
  }
}

async function checkPinnedKeys(config: AgentConfig, doFetch: typeof fetch): Promise<Check[]> {
  const what = "pinned keys";
  const url = botEndpoint(config.botUrl, "/api/public-key");
  let published: PublicKeysView["keys"];
  let retired: PublicKeysView["retired"];
  let checkpointKeys: PublicKeysView["checkpoint_keys"];
  try {
    const res = await doFetch(url, { redirect: "error", signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
    const body = (await res.json()) as Partial<PublicKeysView>;
    if (!Array.isArray(body.keys)) throw new Error(`HTTP ${res.status}, no key list`);
    published = body.keys;
    retired = Array.isArray(body.retired) ? body.retired : [];
    checkpointKeys = Array.isArray(body.checkpoint_keys) ? body.checkpoint_keys : [];
  } catch (err) {
    return [fail(what, `cannot read ${url}: ${fetchFailure(err)}`, "check bot_url")];
  }
  const checks: Check[] = [];
  for (const key of published) {
    const pinned = config.keys.get(key.kid);
    const bytes = fromBase64url(key.public_key);
    if (pinned === undefined) {
      checks.push(
        fail(
          what,
          `the bot signs with key id ${key.kid}, which keys: does not pin; every job would be refused`,
          "get that public key from the bot's operator over a channel you trust (not from the bot's answer) and add it under keys:",
        ),
      );
    } else if (bytes === undefined || !sameBytes(bytes, pinned.publicKey)) {
      checks.push(
        fail(
          what,
          `the key pinned as ${key.kid} is not the key the bot publishes under that id`,
          "do not copy the bot's key: find out whether the bot's key file was replaced or something else answers at bot_url",
        ),
      );
    } else checks.push(ok(what, `the bot's key ${key.kid} matches the pinned key`));
  }
  // A checkpoint key pinned as a token key: the bot never signs a token with it, but whoever holds
  // it (kept with less care than the token key, maybe) could, and this agent would run it.
  const checkpointPins = [...config.keys.values()].filter((pin) =>
    checkpointKeys.some((k) => {
      const bytes = fromBase64url(k.public_key);
      return k.kid === pin.kid || (bytes !== undefined && sameBytes(bytes, pin.publicKey));
    }),
  );
  for (const pin of checkpointPins)
    checks.push(
      fail(
        what,
        `the key pinned as ${pin.kid} is the bot's audit checkpoint key, which signs no execution token`,
        "remove it from keys: (an agent pins only the bot's token keys, GET /api/public-key keys)",
      ),
    );
  const unpublished = [...config.keys.keys()].filter(
    (kid) => !published.some((k) => k.kid === kid) && !checkpointPins.some((p) => p.kid === kid),
  );
  if (unpublished.length > 0 && checks.every((c) => c.status === "ok")) {
    const since = (kid: string): string =>
      retired.some((k) => k.kid === kid) ? `${kid} (retired)` : `${kid} (never used by this bot)`;
    checks.push(
      warn(
        what,
        `pinned but no longer used by the bot: ${unpublished.map(since).join(", ")}`,
        "remove old keys from keys: once a rotation is over (tokens live at most 5 minutes)",
      ),
    );
  }
  return checks;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

async function checkDatabase(db: DatabaseConfig): Promise<Check> {
  const what = `database ${db.name}/${db.environment}`;
  const driver = createDriver(db, () => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${DATABASE_TIMEOUT_MS / 1000} s`)),
      DATABASE_TIMEOUT_MS,
    );
  });
  try {
    await Promise.race([
      driver.execute("SELECT 1", { operation: "read", statementTimeoutMs: 5000, rowCap: 1 }),
      timeout,
    ]);
    return ok(what, `${db.driver} via ${db.urlEnv}: SELECT 1 answered`);
  } catch (err) {
    return fail(
      what,
      `${db.driver} via ${db.urlEnv}: ${(err as Error).message}`,
      `check the host, port, database, user and password in ${db.urlEnv} (the URL itself is not shown)`,
    );
  } finally {
    clearTimeout(timer);
    await Promise.race([
      driver.close().catch(() => undefined),
      new Promise((r) => setTimeout(r, 2000).unref()),
    ]);
  }
}
