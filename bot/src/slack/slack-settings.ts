/**
 * Slack's settings, from the environment the composition root passes in (never `process.env`
 * directly), for the mode the config names (`slack.mode`). HTTP mode needs the signing secret
 * and the bot token; Socket Mode the app-level token (`xapp-…`) and the bot token. Either the
 * mode's secrets are set and Slack is on, or none is and the bot runs API-only; half a
 * configuration, or a token of the wrong type, stops the bot with a message naming what is wrong.
 */
import { DbwardError } from "@dbward/shared";

export const SLACK_ENV = {
  signingSecret: "SLACK_SIGNING_SECRET",
  botToken: "SLACK_BOT_TOKEN",
  appToken: "SLACK_APP_TOKEN",
  apiUrl: "SLACK_API_URL",
  botId: "SLACK_BOT_ID",
  botUserId: "SLACK_BOT_USER_ID",
} as const;

/** A secret that prints as `[redacted]`, so a logged settings object leaks nothing. */
export class SlackSecret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return "[redacted]";
  }
  toJSON(): string {
    return "[redacted]";
  }
}

export type SlackMode = "http" | "socket";

interface CommonSettings {
  readonly botToken: SlackSecret;
  /** Base URL of the Web API, ending in `/`. */
  readonly apiUrl: string;
  readonly botId: string;
  readonly botUserId: string;
}

/** Slack POSTs to `/slack/events`; each request is checked against the signing secret. */
export interface HttpSlackSettings extends CommonSettings {
  readonly mode: "http";
  readonly signingSecret: SlackSecret;
}

/**
 * The bot connects out; the socket, opened with the app-level token over TLS to Slack, is what
 * authenticates what arrives on it, so there is no signature to check (Slack sends none).
 */
export interface SocketSlackSettings extends CommonSettings {
  readonly mode: "socket";
  readonly appToken: SlackSecret;
}

export type SlackSettings = HttpSlackSettings | SocketSlackSettings;

export const DEFAULT_SLACK_API_URL = "https://slack.com/api/";

/** Undefined when Slack is not configured at all; throws `config.invalid` when it is half configured. */
export function parseSlackSettings(
  env: Readonly<Record<string, string | undefined>>,
  mode: SlackMode = "http",
): SlackSettings | undefined {
  const get = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === "" ? undefined : v;
  };
  const signingSecret = get(SLACK_ENV.signingSecret);
  const appToken = get(SLACK_ENV.appToken);
  const botToken = get(SLACK_ENV.botToken);
  const secret = mode === "http" ? signingSecret : appToken;
  if (secret === undefined && botToken === undefined) return undefined;
  const problems: string[] = [];
  if (mode === "http" && signingSecret === undefined) problems.push(`${SLACK_ENV.signingSecret} is not set`);
  if (mode === "socket") problems.push(...appTokenProblems(appToken));
  if (botToken === undefined) problems.push(`${SLACK_ENV.botToken} is not set`);
  else if (!botToken.startsWith("xoxb-")) problems.push(`${SLACK_ENV.botToken} must be a bot token (xoxb-…)`);
  const botId = get(SLACK_ENV.botId);
  const botUserId = get(SLACK_ENV.botUserId);
  if (botId === undefined || !/^B[A-Z0-9]{2,20}$/.test(botId)) {
    problems.push(`${SLACK_ENV.botId} must be the app's bot id (B…); see docs/slack.md`);
  }
  if (botUserId === undefined || !/^[UW][A-Z0-9]{2,20}$/.test(botUserId)) {
    problems.push(`${SLACK_ENV.botUserId} must be the bot's user id (U…); see docs/slack.md`);
  }
  const apiUrl = parseApiUrl(get(SLACK_ENV.apiUrl), problems);
  if (problems.length > 0 || secret === undefined || botToken === undefined) {
    throw new DbwardError(
      "config.invalid",
      `Slack settings are incomplete:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
      {
        problems,
      },
    );
  }
  const common = {
    botToken: new SlackSecret(botToken),
    apiUrl,
    botId: botId ?? "",
    botUserId: botUserId ?? "",
  };
  return mode === "http"
    ? { mode, signingSecret: new SlackSecret(secret), ...common }
    : { mode, appToken: new SlackSecret(secret), ...common };
}

/**
 * Socket Mode needs an app-level token. A bot or user token pasted in its place makes Slack answer
 * `not_allowed_token_type`, after which Slack's Socket Mode client retries for ever without an
 * error: refused here, by its prefix, before any connection is tried.
 */
function appTokenProblems(appToken: string | undefined): string[] {
  if (appToken === undefined)
    return [`${SLACK_ENV.appToken} is not set (Socket Mode needs an app-level token)`];
  if (appToken.startsWith("xapp-")) return [];
  const kind = /^xox([bpae])-/.exec(appToken)?.[1];
  const what =
    kind === "b" ? "a bot token (xoxb-…)" : kind !== undefined ? `a xox${kind}- token` : "not a Slack token";
  return [
    `${SLACK_ENV.appToken} must be an app-level token (xapp-…) with the connections:write scope; this is ${what}`,
  ];
}

function parseApiUrl(value: string | undefined, problems: string[]): string {
  if (value === undefined) return DEFAULT_SLACK_API_URL;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`${SLACK_ENV.apiUrl} is not a URL`);
    return DEFAULT_SLACK_API_URL;
  }
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    problems.push(`${SLACK_ENV.apiUrl} must use https (plain http only on loopback, for tests)`);
  }
  return url.href.endsWith("/") ? url.href : `${url.href}/`;
}
