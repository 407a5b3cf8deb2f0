/**
 * `reviewSql`: classify a SQL text, check it against the review rules and rate its risk.
 * Synchronous, pure and total: every input gets a review, and any doubt ends in a stricter class
 * (SECURITY.md, fail closed). Guards run first, then the dialect's parser.
 */
import { guardText, rejectedReview } from "./guards.ts";
import { findInvisibleCharacters } from "./invisible-characters.ts";
import { reviewMysqlFamily } from "./mysql-review.ts";
import { reviewPostgres } from "./postgres-review.ts";
import type { SqlDialect, SqlReview, SqlReviewOptions } from "./review.ts";
import { raiseRisk } from "./risk.ts";
import { findingForHit, RULE_TEXT, type RuleHit } from "./rules.ts";
import { loadSqlParsers } from "./sql-parsers.ts";

/**
 * Reviews `sql` for `dialect`. `options` tunes rule severities, the multi-statement policy and
 * extra side-effect functions per database × environment; without it the defaults apply.
 * Call `initSqlReview()` once before: until then every text is an unassessed write.
 */
export function reviewSql(sql: string, dialect: SqlDialect, options: SqlReviewOptions = {}): SqlReview {
  const refused = guardText(sql);
  if (refused !== undefined) return rejectedReview([refused]);
  return withTextRules(sql, reviewDialect(sql, dialect, options), options);
}

function reviewDialect(sql: string, dialect: SqlDialect, options: SqlReviewOptions): SqlReview {
  switch (dialect) {
    case "postgres":
      return reviewPostgres(sql, options);
    case "mysql":
    case "sqlite":
      return reviewMysqlFamily(sql, dialect, options);
  }
}

/**
 * Rules on the text itself rather than its statements, the same for every dialect: invisible
 * characters anywhere (literals and comments too) are found first, so they lead the findings.
 */
function withTextRules(sql: string, review: SqlReview, options: SqlReviewOptions): SqlReview {
  const invisible = findInvisibleCharacters(sql);
  if (invisible === undefined) return review;
  const hit: RuleHit = {
    rule: "invisible_characters",
    position: invisible.position,
    detail:
      invisible.count === 1
        ? `${invisible.first}`
        : `${invisible.count} of them, the first ${invisible.first}`,
  };
  const finding = findingForHit(hit, options.rules);
  return {
    ...review,
    risk: raiseRisk(review.risk, RULE_TEXT[hit.rule].risk),
    findings: finding === undefined ? review.findings : [finding, ...review.findings],
  };
}

/**
 * Loads the parsers (libpg-query's WASM, node-sql-parser's dialect builds) for `dialects` (all by
 * default). Call at process start, before `reviewSql`, and again when a new dialect appears (a
 * config reload); calling it again is cheap. Text of a dialect not loaded is an unassessed write.
 */
export async function initSqlReview(dialects?: readonly SqlDialect[]): Promise<void> {
  await loadSqlParsers(dialects);
}
