/**
 * The rate limits' token buckets (schema.sql `rate_buckets`), shared by every bot instance on the
 * store. Built for floods (SECURITY.md: resource exhaustion before auth):
 * - a take is ONE statement outside any transaction, so it never waits for the store's write
 *   lock (open-postgres-store.ts) and two instances or connections cannot both take the last
 *   token: an upsert whose update computes the refill in SQL and applies only while a whole token
 *   is left (`ON CONFLICT … DO UPDATE … WHERE`), atomic per row on both engines;
 * - the SQL is portable: CASE instead of min/max/least/greatest (which differ between SQLite and
 *   PostgreSQL), integer milli-tokens and millisecond times with every value cast to BIGINT, so
 *   both engines do the same integer arithmetic (limits/token-bucket.ts `refilledMilliTokens`,
 *   which this mirrors term by term);
 * - a refused take changes nothing, and the caller reads first (`findRateBucket`), so a client
 *   that is already refused costs a read per call, never a write.
 */
import { sql, type Kysely, type RawBuilder } from "kysely";
import type { Database, RateBucketsTable } from "./tables.ts";

export type RateBucketName = RateBucketsTable["name"];

/** The rule as the SQL needs it (limits/token-bucket.ts RateRule). */
export interface BucketRule {
  readonly burst: number;
  readonly per_minute: number;
}

const MILLI = 1000;

/** A parameter as a 64-bit integer on both engines (better-sqlite3 would bind a JS number as REAL). */
function int(n: number): RawBuilder<number> {
  if (!Number.isSafeInteger(n)) throw new Error(`rate bucket arithmetic needs integers, got ${n}`);
  return sql<number>`cast(${n} as bigint)`;
}

export async function findRateBucket(
  db: Kysely<Database>,
  name: RateBucketName,
  key: string,
): Promise<{ milliTokens: number; atMs: number } | undefined> {
  const row = await db
    .selectFrom("rate_buckets")
    .select(["milli_tokens", "updated_ms"])
    .where("name", "=", name)
    .where("key", "=", key)
    .executeTakeFirst();
  return row === undefined ? undefined : { milliTokens: row.milli_tokens, atMs: row.updated_ms };
}

/**
 * Takes one token from `key`'s bucket in one statement: true when taken, false when the bucket
 * (refilled up to `nowMs`) held less than one, in which case nothing was written.
 */
export async function takeRateToken(
  db: Kysely<Database>,
  name: RateBucketName,
  key: string,
  rule: BucketRule,
  nowMs: number,
): Promise<boolean> {
  const cap = rule.burst * MILLI;
  const fillMs = Math.ceil((cap * 60) / rule.per_minute);
  const now = int(nowMs);
  const elapsed = sql<number>`(${now} - rate_buckets.updated_ms)`;
  const gained = sql<number>`rate_buckets.milli_tokens + ${elapsed} * ${int(rule.per_minute)} / 60`;
  const refilled = sql<number>`(case
    when ${elapsed} >= ${int(fillMs)} then ${int(cap)}
    when ${elapsed} <= 0 then (case when rate_buckets.milli_tokens >= ${int(cap)} then ${int(cap)} else rate_buckets.milli_tokens end)
    when ${gained} >= ${int(cap)} then ${int(cap)}
    else ${gained}
  end)`;
  const r = await db
    .insertInto("rate_buckets")
    .values({ name, key, milli_tokens: int(cap - MILLI), updated_ms: now })
    .onConflict((oc) =>
      oc
        .columns(["name", "key"])
        .doUpdateSet({
          milli_tokens: sql<number>`${refilled} - ${int(MILLI)}`,
          // Never backwards: a bot whose clock is behind another's must not make time count twice.
          updated_ms: sql<number>`(case when ${elapsed} > 0 then ${now} else rate_buckets.updated_ms end)`,
        })
        .where(sql<boolean>`${refilled} >= ${int(MILLI)}`),
    )
    .executeTakeFirst();
  return (r.numInsertedOrUpdatedRows ?? 0n) === 1n;
}

/**
 * Forgets `name`'s buckets untouched for `fillMs` (the time an empty bucket takes to fill): they
 * are full, the same as no row. Returns how many went.
 */
export async function forgetFullRateBuckets(
  db: Kysely<Database>,
  name: RateBucketName,
  fillMs: number,
  nowMs: number,
): Promise<number> {
  const r = await db
    .deleteFrom("rate_buckets")
    .where("name", "=", name)
    .where("updated_ms", "<=", nowMs - fillMs)
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}
