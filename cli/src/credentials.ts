/**
 * Where `dbward login` keeps its tokens: `$XDG_CONFIG_HOME/dbward/credentials.json`, or
 * `~/.config/dbward/credentials.json`, one session per bot URL. The directory is 0700 and the
 * file 0600, written to a temporary file and renamed so a crash never leaves half a file; a file
 * others can read is refused rather than used.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { CliError } from "./cli-error.ts";
import { EXIT } from "./exit-codes.ts";

type Env = Readonly<Record<string, string | undefined>>;

export interface StoredSession {
  /** The bot URL, without a trailing slash. */
  readonly url: string;
  readonly issuer: string;
  readonly client_id: string;
  /** Which of the tokens is sent as the bearer. */
  readonly bearer: "access_token" | "id_token";
  readonly access_token: string;
  readonly id_token?: string;
  readonly refresh_token?: string;
  /** When the bearer stops working (ISO 8601), when the provider said. */
  readonly expires_at?: string;
  /** Who the bot said we are at sign-in. */
  readonly user: string;
}

interface CredentialsFile {
  readonly version: 1;
  readonly sessions: Record<string, StoredSession>;
}

export function normalizeUrl(url: string): string {
  return url.replace(/\/+$/, "");
}

export function credentialsPath(env: Env): string {
  const base =
    env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== ""
      ? env.XDG_CONFIG_HOME
      : join(env.HOME ?? homedir(), ".config");
  return join(base, "dbward", "credentials.json");
}

function readFile(env: Env): CredentialsFile {
  const file = credentialsPath(env);
  if (!existsSync(file)) return { version: 1, sessions: {} };
  if (process.platform !== "win32" && (statSync(file).mode & 0o077) !== 0) {
    throw new CliError(
      `${file} can be read by others; run chmod 600 on it, or dbward logout and log in again`,
      EXIT.auth,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    throw new CliError(`${file} is not valid JSON; delete it and run dbward login`, EXIT.failure);
  }
  const sessions = (parsed as { sessions?: unknown }).sessions;
  if (typeof sessions !== "object" || sessions === null || Array.isArray(sessions))
    throw new CliError(
      `${file} is not a dbward credentials file; delete it and run dbward login`,
      EXIT.failure,
    );
  return { version: 1, sessions: sessions as Record<string, StoredSession> };
}

function writeFile(env: Env, content: CredentialsFile): void {
  const file = credentialsPath(env);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/** The session for a bot URL; with no URL, the only session there is (if exactly one). */
export function loadSession(env: Env, url: string | undefined): StoredSession | undefined {
  const { sessions } = readFile(env);
  if (url !== undefined) return sessions[normalizeUrl(url)];
  const all = Object.values(sessions);
  return all.length === 1 ? all[0] : undefined;
}

export function saveSession(env: Env, session: StoredSession): void {
  const current = readFile(env);
  writeFile(env, { version: 1, sessions: { ...current.sessions, [normalizeUrl(session.url)]: session } });
}

/** Removes and returns the session for a bot URL. */
export function deleteSession(env: Env, url: string): StoredSession | undefined {
  const current = readFile(env);
  const key = normalizeUrl(url);
  const gone = current.sessions[key];
  if (gone === undefined) return undefined;
  const rest = Object.fromEntries(Object.entries(current.sessions).filter(([k]) => k !== key));
  writeFile(env, { version: 1, sessions: rest });
  return gone;
}
