/**
 * Whether a job whose token carries masks can be run masked here, checked before anything is
 * recorded or run: SQLite's driver names no column origins, and a hash mask needs this agent's
 * masking key. Either way the job is refused, never run with a column in the clear.
 */
import type { ErrorCode, ExecutionClaims } from "@dbward/shared";
import type { DatabaseConfig } from "../config.ts";
import type { Secret } from "../secret.ts";
import type { ResultMasking } from "./result-masking.ts";

export type JobMasking =
  | { readonly ok: true; readonly masking: ResultMasking | undefined }
  | { readonly ok: false; readonly code: ErrorCode; readonly message: string };

export function jobMasking(
  claims: ExecutionClaims,
  database: DatabaseConfig,
  key: Secret | undefined,
): JobMasking {
  const masks = claims.masks;
  if (masks === undefined) return { ok: true, masking: undefined };
  if (database.driver === "sqlite") {
    return {
      ok: false,
      code: "config.invalid",
      message: `${database.name}/${database.environment} is SQLite, whose results name no column origins, so its columns cannot be masked; remove its masking policies or move the data`,
    };
  }
  if (key === undefined && masks.some((m) => m.mode === "hash")) {
    return {
      ok: false,
      code: "config.invalid",
      message:
        "a column of this job is masked by hash, and this agent has no masking key: set masking_key_env in the agent's config",
    };
  }
  return { ok: true, masking: { masks, key } };
}
