/**
 * Who may decide on a request: a pure check over the request's snapshot and the decider.
 * Separation of duties (SECURITY.md principle 6): the requester never approves their own request
 * unless the snapshotted workflow explicitly allows it.
 */
import type { RequestStatus } from "@dbward/shared";
import type { Role } from "../config/bot-config.ts";
import type { WorkflowSnapshot } from "./workflow.ts";

export interface Decider {
  readonly id: string;
  readonly roles: readonly Role[];
}

export type DecisionCheck =
  { readonly ok: true } | { readonly ok: false; readonly code: DecisionRefusal; readonly message: string };
export type DecisionRefusal = "not_pending" | "self_approval" | "not_approver" | "already_decided";

export function canDecide(
  request: { status: RequestStatus; requester: string; workflow: WorkflowSnapshot },
  decider: Decider,
  priorApprovers: readonly string[],
): DecisionCheck {
  if (request.status !== "pending_approval") {
    return { ok: false, code: "not_pending", message: `request is ${request.status}, not pending approval` };
  }
  if (request.requester === decider.id && !request.workflow.allow_self_approval) {
    return { ok: false, code: "self_approval", message: "you cannot approve or reject your own request" };
  }
  if (!decider.roles.includes(request.workflow.approver_role)) {
    return {
      ok: false,
      code: "not_approver",
      message: `workflow ${request.workflow.name} needs the ${request.workflow.approver_role} role to decide`,
    };
  }
  if (priorApprovers.includes(decider.id)) {
    return { ok: false, code: "already_decided", message: "you have already approved this request" };
  }
  return { ok: true };
}
