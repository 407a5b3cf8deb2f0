/**
 * The bot's rate limits (SECURITY.md: flooding), with their rules read from the current config
 * on every call so a reload applies at once:
 * - request creation per user, whatever the adapter (HTTP, Slack, MCP);
 * - failed authentication per client IP: once a client has used up its failures, every call it
 *   makes is answered 429 before any token is looked at, until the bucket refills.
 * A refusal is `rate.limited` with `retry_after_seconds` in its details (HTTP: 429 + Retry-After).
 *
 * The buckets are in the state store (store/rate-buckets-repo.ts), so every bot instance on one
 * PostgreSQL state counts into the same bucket, and a restart forgets nothing. Each take reads
 * the bucket first and writes only when it counts: a client already refused costs one read per
 * call and no write; the write is one atomic statement that takes the token only if one is still
 * there (another instance may have taken it since the read).
 */
import { DbwardError } from "@dbward/shared";
import type { BotConfig } from "../config/bot-config.ts";
import type { Store } from "../store/open-store.ts";
import {
  findRateBucket,
  forgetFullRateBuckets,
  takeRateToken,
  type RateBucketName,
} from "../store/rate-buckets-repo.ts";
import {
  msToFill,
  refilledMilliTokens,
  takeResultOf,
  type RateRule,
  type TakeResult,
} from "./token-bucket.ts";

export type RateLimitName = RateBucketName;

export const RATE_LIMIT_NAMES = [
  "request_create",
  "auth_failures",
] as const satisfies readonly RateLimitName[];

export interface RateLimits {
  /** Takes one request-creation token for `userId`; throws `rate.limited` when none is left. */
  assertCanCreateRequest(userId: string): Promise<void>;
  /** Throws `rate.limited` when `ip` has used up its failed authentications. Writes nothing. */
  assertAuthAllowed(ip: string): Promise<void>;
  /** Counts one failed authentication from `ip` (nothing when its bucket is already empty). */
  recordAuthFailure(ip: string): Promise<void>;
}

export function createRateLimits(store: Store, config: () => BotConfig, now: () => number): RateLimits {
  const rule = (name: RateLimitName): RateRule => config().http.rate_limits[name];
  return {
    async assertCanCreateRequest(userId) {
      refuseUnless(
        await take(store, "request_create", userId, rule("request_create"), now),
        "request_create",
      );
    },
    async assertAuthAllowed(ip) {
      refuseUnless(await check(store, "auth_failures", ip, rule("auth_failures"), now()), "auth_failures");
    },
    async recordAuthFailure(ip) {
      await take(store, "auth_failures", ip, rule("auth_failures"), now);
    },
  };
}

async function check(
  store: Store,
  name: RateLimitName,
  key: string,
  r: RateRule,
  nowMs: number,
): Promise<TakeResult> {
  return takeResultOf(refilledMilliTokens(await findRateBucket(store, name, key), r, nowMs), r);
}

async function take(
  store: Store,
  name: RateLimitName,
  key: string,
  r: RateRule,
  now: () => number,
): Promise<TakeResult> {
  const before = await check(store, name, key, r, now());
  if (!before.ok) return before;
  if (await takeRateToken(store, name, key, r, now())) return before;
  // Another instance or connection took the last token between the read and the write.
  const after = await check(store, name, key, r, now());
  return after.ok ? { ok: false, retryAfterSeconds: 1 } : after;
}

/**
 * Forgets the buckets that are full again under the current rules (the pruning job,
 * leader-jobs.ts), so the table holds only keys limited within the last refill time.
 */
export async function pruneRateBuckets(store: Store, config: BotConfig, nowMs: number): Promise<void> {
  for (const name of RATE_LIMIT_NAMES)
    await forgetFullRateBuckets(store, name, msToFill(config.http.rate_limits[name]), nowMs);
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
