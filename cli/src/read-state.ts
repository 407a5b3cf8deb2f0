/**
 * The bot's state opened read-only for an offline command, closed whatever happens: the SQLite
 * file in a data directory, or the PostgreSQL database of a state URL (`--state-url`), whose
 * sessions are read-only and whose schema is left as it is (open-postgres-store.ts `readonly`).
 * A URL is held to the bot config's rule for `state.url` (no password in it: DBWARD_STATE_PASSWORD
 * supplies one), so a password never lands in a shell history or a process list. The drivers
 * load when a state is opened, not with this module: the commands that import it for a flag's
 * description (`audit list --help`) stay free of them.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { STATE_PASSWORD_ENV, stateCredentials, stateSchema } from "@dbward/bot/config/state-config";
import type { Store } from "@dbward/bot/store/open-store";
import { CliError } from "./cli-error.ts";
import { EXIT } from "./exit-codes.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** Where an offline command reads the state: a data directory or a PostgreSQL state URL. */
export type StateSource = { readonly dataDir: string } | { readonly stateUrl: string };

export const STATE_URL_ENV = "DBWARD_STATE_URL";

export async function withStateFile<T>(dataDir: string, work: (store: Store) => Promise<T>): Promise<T> {
  const { STORE_FILE, openStoreFile } = await import("@dbward/bot/store/open-store");
  const file = join(dataDir, STORE_FILE);
  if (!existsSync(file))
    throw new CliError(
      `no dbward state at ${file}; point --data-dir at the bot's data directory`,
      EXIT.usage,
    );
  const store = openStoreFile(file, { readonly: true });
  try {
    return await work(store);
  } finally {
    await store.destroy();
  }
}

/** Runs `work` on the state `source` names, opened read-only. */
export async function withState<T>(
  source: StateSource,
  env: Env,
  work: (store: Store) => Promise<T>,
): Promise<T> {
  if ("dataDir" in source) return withStateFile(source.dataDir, work);
  const url = assertStateUrl(source.stateUrl, "--state-url");
  const store = await connectPostgres(url, env, true);
  const { sql } = await import("kysely");
  try {
    const found = await sql<{
      present: boolean;
    }>`select to_regclass('audit_events') is not null as present`.execute(store);
    if (found.rows[0]?.present !== true)
      throw new CliError(
        `no dbward state in ${describeStateUrl(url)}: the database has no audit_events table; check --state-url`,
        EXIT.usage,
      );
    return await work(store);
  } finally {
    await store.destroy();
  }
}

/** `--state-url`, else DBWARD_STATE_URL, else the data directory. */
export function stateSourceFrom(
  flags: { readonly stateUrl?: string | undefined; readonly dataDir: string },
  env: Env,
): StateSource {
  const url = flags.stateUrl ?? env[STATE_URL_ENV];
  return url !== undefined && url !== "" ? { stateUrl: url } : { dataDir: flags.dataDir };
}

/** The URL, when the bot config would take it as `state.url`; else a usage error naming `flag`. */
export function assertStateUrl(text: string, flag: string): string {
  const parsed = stateSchema.safeParse({ url: text });
  if (parsed.success) return text;
  const message = parsed.error.issues.map((i) => i.message).join("; ");
  throw new CliError(`${flag}: ${message}`, EXIT.usage);
}

/** The URL as it may be printed (it carries no password: assertStateUrl refused one). */
export function describeStateUrl(url: string): string {
  const u = new URL(url);
  // With its parameters: an operator copying it must keep sslmode (they carry no secret: the
  // state URL rule allows only TLS and timeout parameters).
  return `${u.username === "" ? "" : `${u.username}@`}${u.host}${u.pathname}${u.search}`;
}

/**
 * A pool on the PostgreSQL state: read-only sessions and no schema change, or (for the target of
 * `dbward state migrate`) the schema applied as a starting bot applies it.
 */
export async function connectPostgres(url: string, env: Env, readonly: boolean): Promise<Store> {
  const options = {
    ...stateCredentials(url, env),
    poolSize: 2,
    readonly,
    // An idle connection that dies is dropped by the pool; the command's next query then fails
    // loudly, so there is nothing to report here.
    onIdleError: () => {},
  };
  const unreachable = (err: unknown) =>
    new CliError(
      `cannot open the PostgreSQL state at ${describeStateUrl(url)}: ${(err as Error).message} (a password comes from ${STATE_PASSWORD_ENV})`,
      EXIT.unreachable,
    );
  const [{ openPostgresStore }, { sql }] = await Promise.all([
    import("@dbward/bot/store/open-postgres-store"),
    import("kysely"),
  ]);
  let store: Store;
  try {
    store = await openPostgresStore(options);
  } catch (err) {
    throw unreachable(err);
  }
  try {
    // The read-only open connects lazily; connect now, so a bad URL is reported as one.
    if (readonly) await sql`select 1`.execute(store);
  } catch (err) {
    await store.destroy();
    throw unreachable(err);
  }
  return store;
}
