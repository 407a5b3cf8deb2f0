/**
 * The single path by which a request changes status: consult the transition table, apply a
 * compare-and-set, append the audit event — all inside the caller's transaction.
 */
import { DbwardError, type AuditOutcome } from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import { transition, type RequestEvent } from "../core/request-state.ts";
import type { Tx } from "../store/in-transaction.ts";
import { casRequestStatus, type RequestRecord } from "../store/requests-repo.ts";

export interface TransitionArgs {
  readonly event: RequestEvent;
  readonly actor: string;
  readonly action: string;
  readonly now: Date;
  readonly details?: Record<string, unknown>;
  readonly statusReason?: string | null;
  readonly outcome?: AuditOutcome;
}

export async function applyTransition(
  tx: Tx,
  request: RequestRecord,
  args: TransitionArgs,
): Promise<RequestRecord> {
  const t = transition(request.status, args.event);
  if (!t.ok) {
    throw new DbwardError(
      "request.invalid_transition",
      `request #${request.id} is ${request.status}; it cannot ${args.event.replace("_", " ")}`,
    );
  }
  const updatedAt = args.now.toISOString();
  const won = await casRequestStatus(tx, request.id, t.from, t.to, {
    updatedAt,
    ...(args.statusReason !== undefined ? { statusReason: args.statusReason } : {}),
    ...(t.to === "dispatched" ? { dispatchedAt: updatedAt } : {}),
    // A retry approves again: the approved-request expiry counts from the operator's decision.
    ...((t.from === "pending_approval" || t.from === "lost") && t.to === "approved"
      ? { approvedAt: updatedAt }
      : {}),
  });
  if (!won) {
    throw new DbwardError(
      "request.invalid_transition",
      `request #${request.id} changed while this was being decided; look again`,
    );
  }
  await appendAudit(
    tx,
    {
      actor: args.actor,
      action: args.action,
      target: `request:${request.id}`,
      outcome: args.outcome ?? "success",
      details: { from: t.from, to: t.to, ...args.details },
    },
    args.now,
  );
  return {
    ...request,
    status: t.to,
    updatedAt,
    ...(args.statusReason !== undefined ? { statusReason: args.statusReason } : {}),
  };
}
