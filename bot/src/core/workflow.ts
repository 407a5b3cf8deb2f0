/**
 * Workflow matching: which approval rule applies to a request. Pure. The most specific match
 * wins (a named environment over `*`, then a named database over `*`, then an operation list
 * over none); no match refuses the request at creation (SECURITY.md principle 2). The matched
 * workflow is snapshotted into the request so a config change never alters one in flight.
 */
import type { OperationClass } from "@dbward/shared";
import type { Role, WorkflowConfig } from "../config/bot-config.ts";

/** What a request carries of its workflow, frozen at creation. */
export interface WorkflowSnapshot {
  readonly name: string;
  readonly auto_approve: boolean;
  readonly required_approvals: number;
  readonly approver_role: Role;
  readonly allow_self_approval: boolean;
}

export type WorkflowMatch =
  | { readonly ok: true; readonly workflow: WorkflowSnapshot }
  | { readonly ok: false; readonly reason: string };

export function matchWorkflow(
  workflows: readonly WorkflowConfig[],
  target: { database: string; environment: string; operation: OperationClass },
): WorkflowMatch {
  const candidates = workflows
    .filter(
      (w) =>
        (w.database === "*" || w.database === target.database) &&
        (w.environment === "*" || w.environment === target.environment) &&
        (w.operations === undefined || w.operations.includes(target.operation)),
    )
    .map((w) => ({ w, score: specificity(w) }))
    .sort((a, b) => b.score - a.score);
  const best = candidates[0];
  if (best === undefined) {
    return {
      ok: false,
      reason: `no workflow covers ${target.operation} on ${target.database} in ${target.environment}; ask an admin to add one`,
    };
  }
  if (candidates[1] !== undefined && candidates[1].score === best.score) {
    return {
      ok: false,
      reason: `workflows ${best.w.name} and ${candidates[1].w.name} both match ${target.database}/${target.environment} equally; ask an admin to make one more specific`,
    };
  }
  const w = best.w;
  return {
    ok: true,
    workflow: {
      name: w.name,
      auto_approve: w.auto_approve,
      required_approvals: w.auto_approve ? 0 : w.approvals,
      approver_role: w.approver_role,
      allow_self_approval: w.allow_self_approval,
    },
  };
}

function specificity(w: WorkflowConfig): number {
  return (
    (w.environment === "*" ? 0 : 4) + (w.database === "*" ? 0 : 2) + (w.operations === undefined ? 0 : 1)
  );
}
