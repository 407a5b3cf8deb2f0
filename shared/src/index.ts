export * from "./audit-chain.ts";
export * from "./audit-checkpoint.ts";
export * from "./canonical-json.ts";
export * from "./encoding.ts";
export * from "./errors.ts";
export * from "./execution-token.ts";
export * from "./mask-claim.ts";
export * from "./ids.ts";
export * from "./operation-class.ts";
export * from "./plan-summary.ts";
export * from "./protocol.ts";
export * from "./request-status.ts";
export * from "./result-csv.ts";
export * from "./schema-context.ts";
export * from "./signing-key.ts";
export * from "./sql/review.ts";
export * from "./sql/review-sql.ts";
export { raiseRisk } from "./sql/risk.ts";
export {
  SQL_REVIEW_RULES,
  RULE_SEVERITIES,
  DEFAULT_RULE_SEVERITIES,
  RULE_TEXT,
  isSqlReviewRule,
  isRuleSeverity,
  type SqlReviewRule,
  type RuleSeverity,
  type RuleSeverities,
} from "./sql/rules.ts";
export { SQL_CHECKS, type SqlCheck } from "./sql/checks.ts";
export { MAX_SQL_BYTES, MAX_STATEMENTS } from "./sql/guards.ts";
export {
  NEVER_A_READ_CATEGORIES,
  NEVER_A_READ_TEXT,
  neverAReadCategory,
  type NeverAReadCategory,
} from "./sql/never-a-read.ts";
export { DEFAULT_SETTING_CEILINGS } from "./sql/safe-settings.ts";
export { isPgBuiltin, type PgNameKind } from "./sql/postgres-allowlist.ts";
export {
  parseByteSize,
  settingCeilingsSchema,
  trustedFunctionProblem,
  trustedFunctionsSchema,
} from "./sql/review-trust.ts";
export * from "./sql/redact.ts";
export * from "./sql/format-review.ts";
export * from "./sql/review-ndjson.ts";
export * from "./sql/display-sql.ts";
export * from "./sql/masked-columns.ts";
export * from "./result-columns-header.ts";
