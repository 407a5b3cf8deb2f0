/**
 * `sql_review:` — per database × environment tuning of the SQL review: rule severities, whether a
 * text may hold several statements (migrations), and extra side-effect functions of the database.
 */
import { RULE_SEVERITIES, SQL_REVIEW_RULES } from "@dbward/shared";
import { z } from "zod";

const nameOrWildcard = z.union([z.literal("*"), z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/)]);

export const sqlReviewPolicySchema = z.strictObject({
  database: nameOrWildcard.default("*"),
  environment: nameOrWildcard.default("*"),
  rules: z.partialRecord(z.enum(SQL_REVIEW_RULES), z.enum(RULE_SEVERITIES)).optional(),
  multiple_statements: z.enum(["reject", "allow"]).optional(),
  side_effect_functions: z.array(z.string().min(1).max(128)).optional(),
});

export type SqlReviewPolicyConfig = z.infer<typeof sqlReviewPolicySchema>;
