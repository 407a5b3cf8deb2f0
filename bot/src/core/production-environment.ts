/**
 * Which environments count as production where the config does not say: those named
 * `production` or `prod`. Their SQL stays out of the channel post unless
 * `slack.show_sql_in_channel` says otherwise, and their review blocks invisible characters
 * unless `sql_review` says otherwise.
 */
const PRODUCTION = new Set(["production", "prod"]);

export function isProductionEnvironment(environment: string): boolean {
  return PRODUCTION.has(environment);
}
