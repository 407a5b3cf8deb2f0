/**
 * The `webhooks:` and `webhooks_allow_private:` sections of the bot config (docs/webhooks.md).
 * A webhook names where to send which request events, for which database and environment; its
 * HMAC secret comes from the environment variable it names, never from the file.
 */
import { z } from "zod";
import { isAllowEntry } from "../webhooks/ip-ranges.ts";

/** The request events a webhook can subscribe to; these strings are the body's `type`. */
export const WEBHOOK_EVENTS = [
  "request.created",
  "request.approved",
  "request.rejected",
  "request.executed",
  "request.failed",
  "request.break_glass",
  "request.lost",
  "request.expired",
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

const name = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, "must be a lower-case name (a-z, 0-9, _ . -)");
const nameOrWildcard = z.union([z.literal("*"), name]);

const webhookUrl = z
  .string()
  .max(2000)
  .refine((text) => URL.canParse(text), "must be an absolute URL")
  .refine((text) => !URL.canParse(text) || ["http:", "https:"].includes(new URL(text).protocol), {
    message: "must be an http:// or https:// URL",
  })
  .refine((text) => !URL.canParse(text) || (new URL(text).username === "" && new URL(text).password === ""), {
    message: "must not carry a user name or password; the receiver checks the signature instead",
  });

export const webhookSchema = z.strictObject({
  name,
  url: webhookUrl,
  /** The environment variable holding the HMAC secret (at least 32 characters). */
  secret_env: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]{0,100}$/, "must be an environment variable name such as HOOK_SECRET"),
  database: nameOrWildcard.default("*"),
  environment: nameOrWildcard.default("*"),
  events: z.array(z.enum(WEBHOOK_EVENTS)).min(1),
  /** Per attempt: connect, send and read the status line within this time. */
  timeout_ms: z.number().int().min(100).max(60_000).default(5000),
  max_attempts: z.number().int().min(1).max(10).default(5),
  /** Wait before the second attempt; doubled before each later one (capped at 10 minutes). */
  backoff_ms: z.number().int().min(1).max(600_000).default(2000),
});

/**
 * Receivers inside private ranges that may be reached anyway: CIDR blocks (`10.1.2.3/32`,
 * `fd12::/64`) or exact host names (`hooks.internal.example`). Metadata, unspecified, multicast
 * and reserved addresses are never reachable, listed or not.
 */
export const allowPrivateSchema = z
  .array(z.string().max(255).refine(isAllowEntry, "must be a CIDR block such as 10.1.2.3/32, or a host name"))
  .default([]);

export type WebhookConfig = z.infer<typeof webhookSchema>;

/** Cross-checks against the databases: names that must exist, names that must be unique. */
export function checkWebhooks(
  webhooks: readonly WebhookConfig[],
  databases: ReadonlyMap<string, { readonly environments: readonly string[] }>,
): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  webhooks.forEach((w, i) => {
    if (seen.has(w.name)) problems.push(`webhooks: duplicate name ${w.name}`);
    seen.add(w.name);
    const db = w.database === "*" ? undefined : databases.get(w.database);
    if (w.database !== "*" && db === undefined)
      problems.push(`webhooks.${i}.database: unknown database ${w.database}`);
    if (db !== undefined && w.environment !== "*" && !db.environments.includes(w.environment)) {
      problems.push(`webhooks.${i}.environment: database ${w.database} has no environment ${w.environment}`);
    }
  });
  return problems;
}

/** The webhook's secret from the environment; undefined when it is missing or too short. */
export function webhookSecret(
  w: WebhookConfig,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  const value = env[w.secret_env];
  return value !== undefined && value.length >= 32 ? value : undefined;
}
