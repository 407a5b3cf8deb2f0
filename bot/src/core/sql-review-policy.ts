/**
 * The SQL review options for one database × environment. Pure. Like execution policies, the most
 * specific entry wins per field (a named environment over `*`, then a named database over `*`);
 * rule severities merge rule by rule.
 */
import type { SqlReviewOptions } from "@dbward/shared";
import type { SqlReviewPolicyConfig } from "../config/sql-review-config.ts";

export function resolveSqlReviewOptions(
  policies: readonly SqlReviewPolicyConfig[],
  database: string,
  environment: string,
): SqlReviewOptions {
  const applicable = policies
    .filter(
      (p) =>
        (p.database === "*" || p.database === database) &&
        (p.environment === "*" || p.environment === environment),
    )
    .sort((a, b) => rank(a) - rank(b)); // least specific first; later entries override
  let options: SqlReviewOptions = {};
  for (const p of applicable) {
    options = {
      ...options,
      ...(p.rules !== undefined ? { rules: { ...options.rules, ...p.rules } } : {}),
      ...(p.multiple_statements !== undefined ? { multipleStatements: p.multiple_statements } : {}),
      ...(p.side_effect_functions !== undefined
        ? { sideEffectFunctions: [...(options.sideEffectFunctions ?? []), ...p.side_effect_functions] }
        : {}),
      ...(p.trusted_functions !== undefined
        ? { trustedFunctions: [...(options.trustedFunctions ?? []), ...p.trusted_functions] }
        : {}),
      ...(p.setting_ceilings !== undefined ? { settingCeilings: p.setting_ceilings } : {}),
    };
  }
  return options;
}

function rank(p: SqlReviewPolicyConfig): number {
  return (p.environment === "*" ? 0 : 2) + (p.database === "*" ? 0 : 1);
}
