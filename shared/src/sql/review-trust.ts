/**
 * The parts of the SQL review a database's configuration may set, checked the same way by the
 * bot (`sql_review:` entries) and the agent (per database): functions trusted as side-effect-free
 * and the ceilings for memory settings. Both sides must agree for a trusted call to run as a
 * read: the bot classes it, the agent re-reviews it with its own list (no component has both
 * authority and access).
 */
import { z } from "zod";
import { neverAReadCategory, NEVER_A_READ_TEXT } from "./never-a-read.ts";
import type { SettingCeilings, SqlDialect } from "./review.ts";
import { DEFAULT_SETTING_CEILINGS } from "./safe-settings.ts";

/** Schemas whose functions are the built-ins themselves: trusting them would bypass the allowlist. */
const BUILTIN_SCHEMAS = new Set(["pg_catalog", "information_schema", "mysql", "sys", "performance_schema"]);

const QUALIFIED = /^[a-z_][a-z0-9_$]{0,62}\.[a-z_][a-z0-9_$]{0,62}$/;

/**
 * Why `name` cannot be trusted, or undefined when it can: it must be `schema.function` in lower
 * case, outside the built-in schemas, and not in a never-a-read category in any dialect (a
 * function named like `pg_advisory_lock` is never trusted, whatever its schema).
 */
export function trustedFunctionProblem(name: string): string | undefined {
  if (!QUALIFIED.test(name)) return "must be schema.function in lower case, e.g. reporting.monthly_revenue";
  const [schema = ""] = name.split(".");
  if (BUILTIN_SCHEMAS.has(schema)) return `${schema} holds built-ins; the allowlist already decides them`;
  for (const dialect of ["postgres", "mysql", "sqlite"] as const satisfies readonly SqlDialect[]) {
    const category = neverAReadCategory(dialect, name);
    if (category !== undefined)
      return `cannot be trusted: a function of this name ${NEVER_A_READ_TEXT[category]}`;
  }
  return undefined;
}

/** `schema.function` names, each checked by `trustedFunctionProblem`. */
export const trustedFunctionsSchema = z
  .array(
    z.string().superRefine((name, ctx) => {
      const problem = trustedFunctionProblem(name);
      if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
    }),
  )
  .max(200);

const SIZE = /^(\d+(?:\.\d+)?)\s*(B|kB|KB|MB|GB|TB)?$/;
const SIZE_UNITS: Readonly<Record<string, number>> = {
  B: 1,
  kB: 1024,
  KB: 1024,
  MB: 1024 ** 2,
  GB: 1024 ** 3,
  TB: 1024 ** 4,
};

/** `"256MB"`, `"1GB"`, `1048576` → bytes; undefined when unreadable. */
export function parseByteSize(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  const match = SIZE.exec(value.trim());
  if (match === null) return undefined;
  const bytes = Math.floor(Number(match[1]) * (SIZE_UNITS[match[2] ?? "B"] ?? 1));
  return bytes > 0 ? bytes : undefined;
}

/** `setting_ceilings: { memory: 256MB, hash_mem_multiplier: 4, parallel_workers: 4 }`, each optional. */
export const settingCeilingsSchema = z
  .strictObject({
    memory: z
      .union([z.string(), z.number()])
      .transform((value, ctx) => {
        const bytes = parseByteSize(value);
        if (bytes !== undefined && bytes <= 1024 ** 4) return bytes;
        ctx.addIssue({ code: "custom", message: "must be a size such as 256MB, at most 1TB" });
        return z.NEVER;
      })
      .optional(),
    hash_mem_multiplier: z.number().min(1).max(1000).optional(),
    parallel_workers: z.number().int().min(0).max(1024).optional(),
  })
  .transform((c): SettingCeilings => ({
    memoryBytes: c.memory ?? DEFAULT_SETTING_CEILINGS.memoryBytes,
    hashMemMultiplier: c.hash_mem_multiplier ?? DEFAULT_SETTING_CEILINGS.hashMemMultiplier,
    parallelWorkers: c.parallel_workers ?? DEFAULT_SETTING_CEILINGS.parallelWorkers,
  }));
