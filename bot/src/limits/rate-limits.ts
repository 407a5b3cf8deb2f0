/**
 * The bot's rate limits (SECURITY.md: flooding), with their rules read from the current config
 * on every call so a reload applies at once:
 * - request creation per user, whatever the adapter (HTTP, Slack, MCP);
 * - failed authentication per client IP: once a client has used up its failures, every call it
 *   makes is answered 429 before any token is looked at, until the bucket refills.
 * A refusal is `rate.limited` with `retry_after_seconds` in its details (HTTP: 429 + Retry-After).
 */
import { DbwardError } from "@dbward/shared";
import type { BotConfig } from "../config/bot-config.ts";
import { TokenBuckets, type TakeResult } from "./token-bucket.ts";

export type RateLimitName = "request_create" | "auth_failures";

export interface RateLimits {
  /** Takes one request-creation token for `userId`; throws `rate.limited` when none is left. */
  assertCanCreateRequest(userId: string): void;
  /** Throws `rate.limited` when `ip` has used up its failed authentications. */
  assertAuthAllowed(ip: string): void;
  /** Counts one failed authentication from `ip`. */
  recordAuthFailure(ip: string): void;
}

export function createRateLimits(config: () => BotConfig, now: () => number): RateLimits {
  const perUser = new TokenBuckets(now);
  const perIp = new TokenBuckets(now);
  const rules = () => config().http.rate_limits;
  return {
    assertCanCreateRequest(userId) {
      refuseUnless(perUser.take(userId, rules().request_create), "request_create");
    },
    assertAuthAllowed(ip) {
      refuseUnless(perIp.check(ip, rules().auth_failures), "auth_failures");
    },
    recordAuthFailure(ip) {
      perIp.take(ip, rules().auth_failures);
    },
  };
}

function refuseUnless(result: TakeResult, limit: RateLimitName): void {
  if (result.ok) return;
  const what = limit === "request_create" ? "too many new requests" : "too many failed authentications";
  throw new DbwardError("rate.limited", `${what}; try again in ${result.retryAfterSeconds} s`, {
    limit,
    retry_after_seconds: result.retryAfterSeconds,
  });
}

/** The limit and wait of a `rate.limited` error, for the Retry-After header and the metrics. */
export function rateLimitOf(err: unknown): { limit: string; retryAfterSeconds: number } | undefined {
  if (!(err instanceof DbwardError) || err.code !== "rate.limited") return undefined;
  const seconds = err.details?.retry_after_seconds;
  const limit = err.details?.limit;
  return {
    limit: typeof limit === "string" ? limit : "unknown",
    retryAfterSeconds: typeof seconds === "number" ? seconds : 60,
  };
}
