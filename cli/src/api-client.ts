/**
 * The CLI's client for the bot's HTTP API. Server URL and token come from flags or the
 * environment (DBWARD_URL, DBWARD_TOKEN), else from the session `dbward login` stored; errors
 * become CliErrors with the bot's own message.
 */
import { isErrorCode } from "@dbward/shared/errors";
import { CliError } from "./cli-error.ts";
import { loadSession } from "./credentials.ts";
import { EXIT, exitCodeFor } from "./exit-codes.ts";

/** Per-call options of a POST. */
export interface PostOptions {
  /**
   * Sent as `Idempotency-Key` (docs/api.md#idempotency-key). With one, a call the bot could not
   * be reached for is sent once more under the same key: the bot creates at most one request.
   */
  readonly idempotencyKey?: string;
}

/** How long the client waits before its one retry of a keyed call that could not reach the bot. */
const RETRY_DELAY_MS = 1000;

export interface ApiClient {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: unknown, options?: PostOptions): Promise<T>;
  patch<T>(path: string, body: unknown): Promise<T>;
  delete<T>(path: string): Promise<T>;
}

/** A token, or a way to get one when the first call is made (a stored session may need a refresh). */
export type TokenSource = string | undefined | (() => Promise<string>);

/**
 * A client from the usual flags: `--url`/DBWARD_URL (or the one stored session), and
 * `--token`/DBWARD_TOKEN, or else the stored session's bearer.
 */
export function clientFromFlags(
  env: Readonly<Record<string, string | undefined>>,
  flags: { readonly url?: string | undefined; readonly token?: string | undefined },
): ApiClient {
  const url = flags.url ?? env.DBWARD_URL ?? loadSession(env, undefined)?.url;
  const token = flags.token ?? env.DBWARD_TOKEN;
  if (token !== undefined && token !== "") return apiClient(url, token);
  // The OpenID client loads only when a stored session is used.
  const stored = async (at: string): Promise<string> =>
    (await import("./session-token.ts")).storedBearer(env, at);
  return apiClient(url, url === undefined ? undefined : () => stored(url));
}

export function apiClient(url: string | undefined, token: TokenSource): ApiClient {
  if (url === undefined || url === "")
    throw new CliError("no bot URL: pass --url or set DBWARD_URL", EXIT.usage);
  if (token === undefined || token === "")
    throw new CliError("no API token: pass --token, set DBWARD_TOKEN, or run dbward login", EXIT.usage);
  const base = url.replace(/\/+$/, "");
  const attempt = (method: string, path: string, body: unknown, key: string | undefined, bearer: string) =>
    fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${bearer}`,
        accept: "application/json",
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...(key !== undefined ? { "idempotency-key": key } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(60_000),
    });
  const send = async <T>(method: string, path: string, body?: unknown, key?: string): Promise<T> => {
    // Outside the try: a refused credentials file is its own error, not an unreachable bot.
    const bearer = typeof token === "string" ? token : await token();
    let res: Response;
    try {
      res = await attempt(method, path, body, key, bearer).catch(async (err: unknown) => {
        // Only a keyed call is sent again: the key makes a second delivery harmless.
        if (key === undefined) throw err;
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
        return attempt(method, path, body, key, bearer);
      });
    } catch (err) {
      throw new CliError(`cannot reach the bot at ${base}: ${(err as Error).message}`, EXIT.unreachable);
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === "" ? undefined : JSON.parse(text);
    } catch {
      throw new CliError(`the bot answered ${res.status} with something that is not JSON`, EXIT.failure);
    }
    if (!res.ok) {
      const e = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
      const code = isErrorCode(e?.code) ? e.code : "internal";
      throw new CliError(
        `${typeof e?.message === "string" ? e.message : `HTTP ${res.status}`} (${code})`,
        exitCodeFor(code),
      );
    }
    return parsed as T;
  };
  return {
    get: (path) => send("GET", path),
    post: (path, body, options) => send("POST", path, body, options?.idempotencyKey),
    patch: (path, body) => send("PATCH", path, body),
    delete: (path) => send("DELETE", path),
  };
}
