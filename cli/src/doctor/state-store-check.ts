/**
 * Doctor's state store check, on the engine the config names: the SQLite file in the data
 * directory, or the PostgreSQL database of `state.url` (opened read-only: read-only sessions, no
 * schema applied, open-postgres-store.ts). Either way: the store opens, its schema is not newer
 * than this dbward (the bot refuses that at start, in the words used here), and the Slack outbox
 * backlog. A PostgreSQL state that cannot be reached fails with its URL (which carries no
 * password: the config refuses one) and the likely cause.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { STORE_FILE, openStoreFile, type BotConfig } from "@dbward/bot";
import { stateCredentials } from "@dbward/bot/config/state-config";
import { openPostgresStore } from "@dbward/bot/store/open-postgres-store";
import { SCHEMA_VERSION, type Store } from "@dbward/bot/store/open-store";
import { sql } from "kysely";
import { describeStateUrl } from "../read-state.ts";
import { fail, ok, type Check } from "./check.ts";
import { hasTable } from "./has-table.ts";
import { postgresFailure } from "./postgres-failure.ts";
import { checkMaskingPolicies } from "./masking-check.ts";
import { checkSlackOutbox } from "./slack-outbox-check.ts";

type Env = Readonly<Record<string, string | undefined>>;

const WHAT = "state store";

export async function checkStateStore(
  config: BotConfig,
  dataDir: string,
  env: Env,
  now: Date = new Date(),
): Promise<Check[]> {
  return config.state.url === undefined
    ? checkSqliteState(join(dataDir, STORE_FILE), now, config)
    : checkPostgresState(config.state.url, env, now, config);
}

async function checkSqliteState(file: string, now: Date, config: BotConfig): Promise<Check[]> {
  if (!existsSync(file)) return [ok(WHAT, `${file} does not exist yet; the bot creates it`)];
  let store: Store | undefined;
  try {
    store = openStoreFile(file, { readonly: true });
    return [
      ...(await checkSchema(store, "")),
      ...(await checkSlackOutbox(store, now)),
      ...(await checkMaskingPolicies(store, config)),
    ];
  } catch (err) {
    return [
      fail(
        WHAT,
        `${file} cannot be read: ${(err as Error).message}`,
        "check its owner and mode, or restore a backup",
      ),
    ];
  } finally {
    await store?.destroy();
  }
}

async function checkPostgresState(url: string, env: Env, now: Date, config: BotConfig): Promise<Check[]> {
  const where = `PostgreSQL ${describeStateUrl(url)}`;
  const credentials = stateCredentials(url, env);
  const password = credentials.password;
  let store: Store;
  try {
    store = await openPostgresStore({
      ...credentials,
      poolSize: 2,
      readonly: true,
      // Doctor's queries report their own failures; an idle connection dropping needs no word.
      onIdleError: () => undefined,
    });
  } catch (err) {
    return [connectFailure(where, url, err, password)];
  }
  try {
    try {
      // The read-only open connects lazily: connect now, so a bad URL is reported as one.
      await sql`select 1`.execute(store);
    } catch (err) {
      return [connectFailure(where, url, err, password)];
    }
    return [
      ...(await checkSchema(store, `${where}: `)),
      ...(await checkSlackOutbox(store, now)),
      ...(await checkMaskingPolicies(store, config)),
    ];
  } catch (err) {
    return [
      fail(WHAT, `${where} cannot be read: ${(err as Error).message}`, "check the role's rights on it"),
    ];
  } finally {
    await store.destroy();
  }
}

function connectFailure(where: string, url: string, err: unknown, password: string | undefined): Check {
  const why = postgresFailure(err, new URL(url), { passwordSet: password !== undefined && password !== "" });
  return fail(WHAT, `cannot connect to ${where}: ${why.reason}`, why.fix);
}

async function checkSchema(store: Store, where: string): Promise<Check[]> {
  if (!(await hasTable(store, "schema_version")))
    return [ok(WHAT, `${where}empty; the bot creates the schema at its first start`)];
  const row = await sql<{ v: number | null }>`select max(version) as v from schema_version`.execute(store);
  const version = Number(row.rows[0]?.v ?? 0);
  if (version > SCHEMA_VERSION)
    return [
      fail(
        WHAT,
        // The bot's refusal (store/open-store.ts, open-postgres-store.ts), word for word.
        `${where}the state store is at schema version ${version}, newer than this dbward (${SCHEMA_VERSION}); upgrade dbward`,
        "upgrade dbward, or restore a backup this version wrote",
      ),
    ];
  return [
    ok(
      WHAT,
      `${where}schema version ${version}${version < SCHEMA_VERSION ? " (the bot migrates it at start)" : ""}`,
    ),
  ];
}
