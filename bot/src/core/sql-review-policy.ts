/**
 * The SQL review options for one database × environment. Pure. Like execution policies, the most
 * specific entry wins per field (a named environment over `*`, then a named database over `*`);
 * rule severities merge rule by rule.
 *
 * Production environments start from stricter defaults than `DEFAULT_RULE_SEVERITIES`: there a
 * text with invisible characters is refused (what the approver reads must be what runs), unless
 * an applicable `sql_review` entry names the rule itself.
 */
import type { RuleSeverities, SqlReviewOptions } from "@dbward/shared";
import type { SqlReviewPolicyConfig } from "../config/sql-review-config.ts";
import { isProductionEnvironment } from "./production-environment.ts";

export const PRODUCTION_RULE_SEVERITIES: RuleSeverities = Object.freeze({ invisible_characters: "block" });

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
  let options: SqlReviewOptions = isProductionEnvironment(environment)
    ? { rules: PRODUCTION_RULE_SEVERITIES }
    : {};
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
