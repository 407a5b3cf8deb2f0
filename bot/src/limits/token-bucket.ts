/**
 * The token-bucket arithmetic of the rate limits (SECURITY.md: flooding), in integers only: a
 * bucket holds milli-tokens (tokens × 1000) as of a time in milliseconds. A key holds up to
 * `burst` tokens and regains `per_minute` of them per minute, i.e. `per_minute / 60` milli-tokens
 * per millisecond, rounded down; a call that finds less than one token is refused with the seconds
 * until one is back.
 *
 * The buckets themselves live in the state store (store/rate-buckets-repo.ts), shared by every bot
 * instance, and a take is one upsert that computes this same refill in SQL. This module is the
 * one statement of the rule: the store's SQL mirrors `refilledMilliTokens` term by term.
 */

export interface RateRule {
  /** Tokens a fresh key starts with: how many calls may come at once. */
  readonly burst: number;
  /** Tokens regained per minute: the sustained rate. */
  readonly per_minute: number;
}

export type TakeResult = { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number };

/** A stored bucket: milli-tokens left as of `atMs`. No bucket: a full one. */
export interface BucketState {
  readonly milliTokens: number;
  readonly atMs: number;
}

export const MILLI_PER_TOKEN = 1000;

/** The most a bucket holds, in milli-tokens. */
export function capacityMilli(rule: RateRule): number {
  return rule.burst * MILLI_PER_TOKEN;
}

/**
 * Milliseconds an empty bucket takes to be full again (rounded up): a bucket untouched for this
 * long is full, equal to one never seen, and may be forgotten. Past it the refill is not
 * computed at all, so the product below stays far inside 64-bit integers whatever the elapsed time.
 */
export function msToFill(rule: RateRule): number {
  return Math.ceil((capacityMilli(rule) * 60) / rule.per_minute);
}

/** The milli-tokens `bucket` holds at `nowMs`. A clock behind the bucket's (another instance's) adds nothing. */
export function refilledMilliTokens(bucket: BucketState | undefined, rule: RateRule, nowMs: number): number {
  const cap = capacityMilli(rule);
  if (bucket === undefined) return cap;
  const elapsed = nowMs - bucket.atMs;
  if (elapsed >= msToFill(rule)) return cap;
  if (elapsed <= 0) return Math.min(cap, bucket.milliTokens);
  return Math.min(cap, bucket.milliTokens + Math.floor((elapsed * rule.per_minute) / 60));
}

/** Ok with a token to take; otherwise the whole seconds (at least 1) until one is back. */
export function takeResultOf(milliTokens: number, rule: RateRule): TakeResult {
  if (milliTokens >= MILLI_PER_TOKEN) return { ok: true };
  const ms = ((MILLI_PER_TOKEN - milliTokens) * 60) / rule.per_minute;
  return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(ms / 1000)) };
}
