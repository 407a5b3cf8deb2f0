/**
 * The bot's structured logs: pino, one JSON object per line, each HTTP call tagged with its
 * request id (http/request-log.ts). What never appears: bearer tokens, API and agent token
 * secrets, the signing key, Slack secrets, SQL text. The code logs only ids, hashes, paths and
 * statuses; the redaction list below is the second line of defence against a field added later
 * by mistake (test/logs-no-secrets.test.ts scans a whole flow's output for the real secrets).
 */
import { pino, type DestinationStream, type Logger } from "pino";

const SENSITIVE = [
  "authorization",
  "cookie",
  "token",
  "secret",
  "secret_key",
  "password",
  "sql",
  "sql_text",
  "signingSecret",
  "botToken",
];

/** Each sensitive key at the top level and one or two objects down (`req.headers.authorization`). */
export const REDACT_PATHS = SENSITIVE.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

export interface BotLoggerOptions {
  readonly level?: string;
  /** Where lines go; stdout when absent. */
  readonly destination?: DestinationStream;
}

export function createBotLogger(options: BotLoggerOptions = {}): Logger {
  const config = {
    name: "dbward-bot",
    level: options.level ?? "info",
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
  };
  return options.destination === undefined ? pino(config) : pino(config, options.destination);
}
