/**
 * Slack's settings, from the environment the composition root passes in (never `process.env`
 * directly). Either both secrets are set and Slack is on, or neither is and the bot runs
 * API-only; half a configuration stops the bot with a message naming what is missing.
 */
import { DbwardError } from "@dbward/shared";

export const SLACK_ENV = {
  signingSecret: "SLACK_SIGNING_SECRET",
  botToken: "SLACK_BOT_TOKEN",
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

export interface SlackSettings {
  readonly signingSecret: SlackSecret;
  readonly botToken: SlackSecret;
  /** Base URL of the Web API, ending in `/`. */
  readonly apiUrl: string;
  readonly botId: string;
  readonly botUserId: string;
}

export const DEFAULT_SLACK_API_URL = "https://slack.com/api/";

/** Undefined when Slack is not configured at all; throws `config.invalid` when it is half configured. */
export function parseSlackSettings(
  env: Readonly<Record<string, string | undefined>>,
): SlackSettings | undefined {
  const get = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === "" ? undefined : v;
  };
  const signingSecret = get(SLACK_ENV.signingSecret);
  const botToken = get(SLACK_ENV.botToken);
  if (signingSecret === undefined && botToken === undefined) return undefined;
  const problems: string[] = [];
  if (signingSecret === undefined) problems.push(`${SLACK_ENV.signingSecret} is not set`);
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
  if (problems.length > 0 || signingSecret === undefined || botToken === undefined) {
    throw new DbwardError(
      "config.invalid",
      `Slack settings are incomplete:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
      {
        problems,
      },
    );
  }
  return {
    signingSecret: new SlackSecret(signingSecret),
    botToken: new SlackSecret(botToken),
    apiUrl,
    botId: botId ?? "",
    botUserId: botUserId ?? "",
  };
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
