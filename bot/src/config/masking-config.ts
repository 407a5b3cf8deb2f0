/**
 * The `masking` config section (docs/security-hardening.md, "Column masking"): which columns of
 * which database × environment the agent masks in results, how, and which roles or groups see
 * them in the clear. The bot is the authority (roles and groups are its concepts); it signs the
 * masks that apply to a requester into each execution token, and the agent applies them.
 *
 * Unknown keys are refused, as everywhere in the config. A policy naming a database or an
 * environment the config does not have is a config error (`maskingProblems`); one naming a
 * column the reported schema does not have is reported by `maskingSchemaProblems` and, at run
 * time, refused by the agent (`masking.unknown_column`), never run unmasked.
 */
import { MASK_MODES, MAX_KEPT_CHARACTERS } from "@dbward/shared";
import { z } from "zod";

const name = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, "must be a lower-case name");
/** A table or column as the database names it; compared case-insensitively. */
const identifier = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[^.\s]+$/, "must be one name, without dots or spaces");
const kept = z.number().int().min(0).max(MAX_KEPT_CHARACTERS);

export const maskingPolicySchema = z
  .strictObject({
    database: z.union([z.literal("*"), name]),
    environment: z.union([z.literal("*"), name]),
    /** The PostgreSQL schema or MySQL database of the table; left out: a table of this name in any. */
    schema: identifier.optional(),
    table: identifier,
    column: identifier,
    mode: z.enum(MASK_MODES),
    /** For `partial`: characters kept at the start and at the end. */
    keep_leading: kept.optional(),
    keep_trailing: kept.optional(),
    /** Who sees clear values: any of these roles or groups. */
    clear_for: z
      .strictObject({ roles: z.array(name).default([]), groups: z.array(name).default([]) })
      .default({ roles: [], groups: [] }),
  })
  .superRefine((p, ctx) => {
    const keeps = p.keep_leading !== undefined || p.keep_trailing !== undefined;
    if (p.mode !== "partial" && keeps)
      ctx.addIssue({
        code: "custom",
        path: ["mode"],
        message: "keep_leading and keep_trailing are for mode partial only",
      });
    if (p.mode === "partial" && (p.keep_leading ?? 0) + (p.keep_trailing ?? 0) === 0)
      ctx.addIssue({
        code: "custom",
        path: ["keep_leading"],
        message:
          "mode partial keeps some characters: set keep_leading or keep_trailing above 0, or use mode full",
      });
  });

export const maskingSchema = z.strictObject({
  policies: z.array(maskingPolicySchema).max(256).default([]),
});

export const MASKING_DEFAULTS = maskingSchema.parse({});

export type MaskingConfig = z.infer<typeof maskingSchema>;
export type MaskingPolicyConfig = z.infer<typeof maskingPolicySchema>;

/** Problems of policies that name a database or environment this config does not have. */
export function maskingProblems(
  masking: MaskingConfig,
  databases: readonly { readonly name: string; readonly environments: readonly string[] }[],
): string[] {
  return masking.policies.flatMap((p, i) => {
    if (p.database === "*") return [];
    const db = databases.find((d) => d.name === p.database);
    if (db === undefined) return [`masking.policies.${i}.database: unknown database ${p.database}`];
    if (p.environment !== "*" && !db.environments.includes(p.environment))
      return [`masking.policies.${i}.environment: database ${db.name} has no environment ${p.environment}`];
    return [];
  });
}
