/**
 * The CLI's client for the bot's HTTP API. Server URL and token come from flags or the
 * environment (DBWARD_URL, DBWARD_TOKEN); errors become CliErrors with the bot's own message.
 */
import { isErrorCode } from "@dbward/shared";
import { CliError } from "./cli-error.ts";
import { EXIT, exitCodeFor } from "./exit-codes.ts";

export interface ApiClient {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
}

export function apiClient(url: string | undefined, token: string | undefined): ApiClient {
  if (url === undefined || url === "")
    throw new CliError("no bot URL: pass --url or set DBWARD_URL", EXIT.usage);
  if (token === undefined || token === "")
    throw new CliError("no API token: pass --token or set DBWARD_TOKEN", EXIT.usage);
  const base = url.replace(/\/+$/, "");
  const send = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: "application/json",
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(60_000),
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
  return { get: (path) => send("GET", path), post: (path, body) => send("POST", path, body) };
}
