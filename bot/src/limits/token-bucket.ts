/**
 * Token buckets keyed by a string (a user id, a client IP), in memory, with bounded memory
 * (SECURITY.md: flooding). Each key holds up to `burst` tokens and regains `per_minute` of them
 * per minute; a call that finds less than one token is refused with the seconds until one is back.
 *
 * Memory is bounded by `maxKeys`: a full bucket carries no information (it equals a key never
 * seen), so full buckets are dropped first; if every bucket is still in use, the least recently
 * touched one goes. An attacker who can spread over more than `maxKeys` keys can therefore reset
 * a limit, which is why the limits are a flood guard and not an authentication control.
 *
 * No library: express-rate-limit and friends are fine, but we need two keyings (user after
 * authentication, IP before it), rules read from a config that reloads, an injected clock for
 * tests, and a refusal that becomes a `rate.limited` DbwardError; that is these sixty lines.
 */

export interface RateRule {
  /** Tokens a fresh key starts with: how many calls may come at once. */
  readonly burst: number;
  /** Tokens regained per minute: the sustained rate. */
  readonly per_minute: number;
}

export type TakeResult = { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  at: number;
  /** When the bucket will be full again, i.e. equal to a key never seen. */
  fullAt: number;
}

export const DEFAULT_MAX_KEYS = 10_000;

export class TokenBuckets {
  readonly #buckets = new Map<string, Bucket>();

  constructor(
    private readonly now: () => number,
    private readonly maxKeys = DEFAULT_MAX_KEYS,
  ) {}

  /** Takes one token for `key`, or says how long until one is available. */
  take(key: string, rule: RateRule): TakeResult {
    const bucket = this.#refilled(key, rule);
    if (bucket.tokens < 1) return this.#refusal(bucket, rule);
    bucket.tokens -= 1;
    bucket.fullAt = bucket.at + ((rule.burst - bucket.tokens) / rule.per_minute) * 60_000;
    this.#store(key, bucket);
    return { ok: true };
  }

  /** Like `take`, but only looks: refused when `key` has no token left. */
  check(key: string, rule: RateRule): TakeResult {
    const bucket = this.#refilled(key, rule);
    return bucket.tokens < 1 ? this.#refusal(bucket, rule) : { ok: true };
  }

  /** Keys currently held (for tests and the memory bound). */
  get size(): number {
    return this.#buckets.size;
  }

  #refilled(key: string, rule: RateRule): Bucket {
    const now = this.now();
    const b = this.#buckets.get(key);
    const gained = b === undefined ? 0 : (Math.max(0, now - b.at) / 60_000) * rule.per_minute;
    const tokens = b === undefined ? rule.burst : Math.min(rule.burst, b.tokens + gained);
    return { tokens, at: now, fullAt: now };
  }

  #refusal(bucket: Bucket, rule: RateRule): TakeResult {
    const seconds = ((1 - bucket.tokens) / rule.per_minute) * 60;
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(seconds)) };
  }

  #store(key: string, bucket: Bucket): void {
    // Re-inserting moves the key to the end: Map order is then least recently touched first.
    this.#buckets.delete(key);
    if (this.#buckets.size >= this.maxKeys) this.#evict();
    this.#buckets.set(key, bucket);
  }

  #evict(): void {
    const now = this.now();
    for (const [key, b] of this.#buckets) if (b.fullAt <= now) this.#buckets.delete(key);
    if (this.#buckets.size < this.maxKeys) return;
    const oldest = this.#buckets.keys().next();
    if (oldest.done !== true) this.#buckets.delete(oldest.value);
  }
}
