/**
 * The Slack Web API as the adapter uses it: one table of the methods called and the bot scope
 * each needs (manifest.yml must grant exactly these; slack-api.test.ts checks), and one client
 * whose failures come out as `SlackCallError`s saying whether a retry can help.
 *
 * The underlying WebClient's own retries are switched off (mount-slack.ts): retries and backoff
 * are the delivery queue's job, where they are bounded, logged and never block a use case.
 */
import type { webApi } from "@slack/bolt";

export const SLACK_METHOD_SCOPES = {
  "chat.postMessage": ["chat:write"],
  "chat.update": ["chat:write"],
  "chat.postEphemeral": ["chat:write"],
  "conversations.open": ["im:write"],
  "views.open": [],
  "views.update": [],
  "views.push": [],
  "views.publish": [],
  "users.info": ["users:read", "users:read.email"],
  "files.getUploadURLExternal": ["files:write"],
  "files.completeUploadExternal": ["files:write"],
} as const satisfies Record<string, readonly string[]>;

export type SlackMethod = keyof typeof SLACK_METHOD_SCOPES;

/** Scopes the app needs beyond its Web API calls: `commands` for the `/dbward` slash command. */
export const NON_API_SCOPES = ["commands"] as const;

export type SlackResult = Readonly<Record<string, unknown>>;

export interface SlackApi {
  call(method: SlackMethod, args: Record<string, unknown>): Promise<SlackResult>;
  /** POSTs a message to the `response_url` of a verified Slack payload. */
  respond(responseUrl: string, body: Record<string, unknown>): Promise<void>;
  /** POSTs file bytes to the `upload_url` that `files.getUploadURLExternal` returned. */
  uploadBytes(uploadUrl: string, bytes: Uint8Array): Promise<void>;
}

export class SlackCallError extends Error {
  override readonly name = "SlackCallError";
  constructor(
    readonly what: string,
    /** Slack's error string (`not_in_channel`, `ratelimited`), or `network`, or `http_<status>`. */
    readonly code: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(`${what} failed: ${code}`);
  }
}

/** Slack errors worth retrying: the condition can clear (a rate limit, someone invites the bot). */
const RETRYABLE = new Set([
  "ratelimited",
  "rate_limited",
  "not_in_channel",
  "internal_error",
  "fatal_error",
  "service_unavailable",
  "request_timeout",
]);

const TIMEOUT_MS = 10_000;

export function createSlackApi(client: webApi.WebClient, apiUrl: string): SlackApi {
  const apiOrigin = new URL(apiUrl).origin;
  const trusted = (url: string, what: string): URL => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new SlackCallError(what, "bad_url", false);
    }
    const slackHost = u.protocol === "https:" && /(^|\.)(slack\.com|slack-gov\.com)$/.test(u.hostname);
    if (!slackHost && u.origin !== apiOrigin) throw new SlackCallError(what, "untrusted_url", false);
    return u;
  };
  const post = async (what: string, url: URL, init: { body: string | Uint8Array; type: string }) => {
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST",
        headers: { "content-type": init.type },
        body: init.body,
        redirect: "error",
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch {
      throw new SlackCallError(what, "network", true);
    }
    await res.arrayBuffer();
    if (!res.ok) {
      const retryAfter = Number(res.headers.get("retry-after"));
      throw new SlackCallError(
        what,
        `http_${res.status}`,
        res.status === 429 || res.status >= 500,
        Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
      );
    }
  };
  return {
    async call(method, args) {
      try {
        return (await client.apiCall(method, args)) as unknown as SlackResult;
      } catch (err) {
        throw toSlackCallError(method, err);
      }
    },
    async respond(responseUrl, body) {
      const url = trusted(responseUrl, "response_url");
      await post("response_url", url, { body: JSON.stringify(body), type: "application/json" });
    },
    async uploadBytes(uploadUrl, bytes) {
      const url = trusted(uploadUrl, "file upload");
      await post("file upload", url, { body: bytes, type: "application/octet-stream" });
    },
  };
}

/** WebClient errors by their documented `code` (@slack/web-api ErrorCode). */
export function toSlackCallError(method: string, err: unknown): SlackCallError {
  const e = (typeof err === "object" && err !== null ? err : {}) as {
    code?: unknown;
    retryAfter?: unknown;
    data?: { error?: unknown };
    statusCode?: unknown;
  };
  switch (e.code) {
    case "slack_webapi_rate_limited_error": {
      const after = typeof e.retryAfter === "number" ? e.retryAfter * 1000 : undefined;
      return new SlackCallError(method, "ratelimited", true, after);
    }
    case "slack_webapi_platform_error": {
      const code = typeof e.data?.error === "string" ? e.data.error : "unknown_error";
      return new SlackCallError(method, code, RETRYABLE.has(code));
    }
    case "slack_webapi_http_error": {
      const status = typeof e.statusCode === "number" ? e.statusCode : 0;
      return new SlackCallError(method, `http_${status}`, status >= 500 || status === 429);
    }
    case "slack_webapi_request_error":
      return new SlackCallError(method, "network", true);
    default:
      return new SlackCallError(method, err instanceof Error ? err.message : "unknown_error", false);
  }
}
