/**
 * Exponential backoff with jitter for calls to the bot: after the n-th consecutive failure the
 * delay is drawn from [cap/2, cap), cap = min(maxMs, baseMs · 2^(n-1)). The jitter keeps a fleet
 * of agents from retrying in lock step after the bot restarts.
 */
export interface Backoff {
  /** The delay before the next attempt; each call counts one more failure. */
  next(): number;
  /** Forget the failures after a success. */
  reset(): void;
}

export interface BackoffOptions {
  readonly baseMs?: number;
  readonly maxMs?: number;
  /** A number in [0, 1); injected so tests can pin the jitter. */
  readonly random?: () => number;
}

export function createBackoff(options: BackoffOptions = {}): Backoff {
  const { baseMs = 500, maxMs = 30_000, random = Math.random } = options;
  let failures = 0;
  return {
    next() {
      failures += 1;
      const cap = Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 30));
      return Math.floor(cap / 2 + (random() * cap) / 2);
    },
    reset() {
      failures = 0;
    },
  };
}
