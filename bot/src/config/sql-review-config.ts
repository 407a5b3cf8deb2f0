/**
 * `sql_review:` — per database × environment tuning of the SQL review: rule severities, whether a
 * text may hold several statements (migrations), extra side-effect functions of the database,
 * functions of the database's own schemas trusted as side-effect-free, and the ceilings for
 * memory settings.
 */
import {
  RULE_SEVERITIES,
  settingCeilingsSchema,
  SQL_REVIEW_RULES,
  trustedFunctionsSchema,
} from "@dbward/shared";
import { z } from "zod";

const nameOrWildcard = z.union([z.literal("*"), z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/)]);

export const sqlReviewPolicySchema = z
  .strictObject({
    database: nameOrWildcard.default("*"),
    environment: nameOrWildcard.default("*"),
    rules: z.partialRecord(z.enum(SQL_REVIEW_RULES), z.enum(RULE_SEVERITIES)).optional(),
    multiple_statements: z.enum(["reject", "allow"]).optional(),
    side_effect_functions: z.array(z.string().min(1).max(128)).optional(),
    /** `schema.function` names declared free of side effects on this one database × environment. */
    trusted_functions: trustedFunctionsSchema.optional(),
    setting_ceilings: settingCeilingsSchema.optional(),
  })
  // Trust is declared for one database × environment, never for every database at once.
  .refine((p) => p.trusted_functions === undefined || (p.database !== "*" && p.environment !== "*"), {
    message: "trusted_functions needs a named database and environment, not *",
    path: ["trusted_functions"],
  });

export type SqlReviewPolicyConfig = z.infer<typeof sqlReviewPolicySchema>;
