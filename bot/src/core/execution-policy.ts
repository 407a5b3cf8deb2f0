/**
 * Execution policies: statement timeout, row cap and an execution budget per database ×
 * environment. Pure. The most specific policy wins for each field (a named environment over `*`,
 * a named database over `*`); fields a policy leaves out fall back to the `execution` defaults.
 */
import type { BotConfig, ExecutionPolicyConfig } from "../config/bot-config.ts";

export interface ExecutionLimits {
  readonly statement_timeout_ms: number;
  readonly row_cap: number;
  /** Absent from requests stored before the byte cap existed: the current default applies. */
  readonly result_max_bytes?: number;
  readonly max_executions: { readonly count: number; readonly window_minutes: number } | null;
}

export function resolveExecutionLimits(
  config: BotConfig,
  database: string,
  environment: string,
): ExecutionLimits {
  const applicable = config.execution_policies
    .filter(
      (p) =>
        (p.database === "*" || p.database === database) &&
        (p.environment === "*" || p.environment === environment),
    )
    .sort((a, b) => rank(a) - rank(b)); // least specific first, so later ones override
  let limits: ExecutionLimits = {
    statement_timeout_ms: config.execution.statement_timeout_ms,
    row_cap: config.execution.row_cap,
    result_max_bytes: config.execution.result_max_bytes,
    max_executions: null,
  };
  for (const p of applicable) {
    limits = {
      statement_timeout_ms: p.statement_timeout_ms ?? limits.statement_timeout_ms,
      row_cap: p.row_cap ?? limits.row_cap,
      result_max_bytes: p.result_max_bytes ?? limits.result_max_bytes ?? config.execution.result_max_bytes,
      max_executions: p.max_executions ?? limits.max_executions,
    };
  }
  return limits;
}

function rank(p: ExecutionPolicyConfig): number {
  return (p.environment === "*" ? 0 : 2) + (p.database === "*" ? 0 : 1);
}
