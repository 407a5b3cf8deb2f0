/**
 * The shapes of a request's stored JSON columns, checked by the row mapper on every read
 * (STYLE.md: stored JSON is validated once, never cast). The workflow snapshot decides who
 * may approve and the row guard the bot signs, so a value of any other shape — a hand-edited
 * row, a half-written migration — is refused with the request's id and the bad key instead of
 * reaching a decision or a signature.
 */
import { MAX_GUARD_ROWS } from "@dbward/shared";
import { z } from "zod";
import type { ExecutionLimits } from "../core/execution-policy.ts";
import type { WorkflowSnapshot } from "../core/workflow.ts";

const count = z.number().int().min(0);

const step = z.strictObject({
  name: z.string(),
  approvers: z.array(z.string()),
  mode: z.enum(["any", "all"]),
  min: count,
  remind_after_ms: count.optional(),
  escalate_after_ms: count.optional(),
  escalate_to: z.array(z.string()).optional(),
  escalated: z.boolean().optional(),
  min_rows: count.max(MAX_GUARD_ROWS).optional(),
  waived: z.strictObject({ rows: count }).optional(),
});

const workflowSnapshot = z.strictObject({
  name: z.string(),
  auto_approve: z.union([
    z.literal("never"),
    z.literal("always"),
    z.strictObject({ risk_at_most: z.enum(["low", "medium", "high"]) }),
    z.strictObject({ max_rows: count.max(MAX_GUARD_ROWS) }),
  ]),
  steps: z.array(step),
  allow_self_approval: z.boolean(),
  allow_same_approver_across_steps: z.boolean(),
  break_glass_roles: z.array(z.string()),
  max_rows: count.max(MAX_GUARD_ROWS).optional(),
  guard: z.strictObject({ kind: z.literal("dry_run_count"), tolerance_percent: count.max(9999) }).optional(),
  run: z.literal("by_requester").optional(),
  run_within_ms: count.optional(),
  step_up: z
    .strictObject({
      method: z.literal("oidc"),
      risk_at_least: z.enum(["medium", "high", "critical"]).optional(),
    })
    .optional(),
});

const executionLimits = z.strictObject({
  statement_timeout_ms: count,
  row_cap: count,
  result_max_bytes: count.optional(),
  max_executions: z.strictObject({ count, window_minutes: count }).nullable(),
});

/** The stored workflow snapshot of request `id`; throws naming the bad key if it is not one. */
export function parseStoredWorkflow(id: string, json: string): WorkflowSnapshot {
  return parseColumn(id, "workflow_json", workflowSnapshot, json) as WorkflowSnapshot;
}

/** The stored execution limits of request `id`; throws naming the bad key if they are not. */
export function parseStoredLimits(id: string, json: string): ExecutionLimits {
  return parseColumn(id, "limits_json", executionLimits, json) as ExecutionLimits;
}

function parseColumn(id: string, column: string, schema: z.ZodType, json: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new Error(`request ${id} has a ${column} in the store that is not JSON`);
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue === undefined ? "" : ` at ${issue.path.join(".") || "(root)"}: ${issue.message}`;
  throw new Error(`request ${id} has a ${column} in the store of the wrong shape${where}`);
}
