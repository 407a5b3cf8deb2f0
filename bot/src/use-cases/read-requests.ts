/**
 * Reading requests, with the visibility rules: a requester sees their own; approvers, operators
 * and admins see all. Results have their own policy on top (read-result.ts).
 */
import {
  DbwardError,
  touchedTables,
  type ExecutionView,
  type PreflightView,
  type RequestId,
  type RequestStatus,
  type RequestView,
  type WorkflowView,
} from "@dbward/shared";
import { approvalProgress, escalatedTo } from "../core/approval-decision.ts";
import { rowBound } from "../core/row-bounds.ts";
import { needsStepUp } from "../core/workflow.ts";
import { dryRunCountOf, listPreflights, type PreflightRecord } from "../store/preflights-repo.ts";
import { findSchemaContext } from "../store/schema-contexts-repo.ts";
import {
  findRequest,
  listApprovals,
  listExecutions,
  listRequests,
  type ApprovalRecord,
  type ExecutionRecord,
  type RequestRecord,
} from "../store/requests-repo.ts";
import type { BotContext } from "./bot-context.ts";
import { can, type UserCaller } from "./caller.ts";

export async function getRequest(ctx: BotContext, caller: UserCaller, id: RequestId): Promise<RequestView> {
  return toRequestView(ctx, await findVisibleRequest(ctx, caller, id));
}

/**
 * The request, if the caller may see it. Not yours and not allowed to see others' reads exactly
 * like a missing request, so request ids cannot be probed by any route that takes one.
 */
export async function findVisibleRequest(
  ctx: BotContext,
  caller: UserCaller,
  id: RequestId,
): Promise<RequestRecord> {
  const r = await findRequest(ctx.store, id);
  if (r === undefined || (r.requester !== caller.user.id && !can(caller, "request.view_all"))) {
    throw new DbwardError("request.not_found", `there is no request #${id}`);
  }
  return r;
}

export async function listVisibleRequests(
  ctx: BotContext,
  caller: UserCaller,
  filter: { mine?: boolean; statuses?: RequestStatus[]; limit?: number },
): Promise<RequestView[]> {
  const all = can(caller, "request.view_all") && filter.mine !== true;
  const records = await listRequests(ctx.store, {
    ...(all ? {} : { requester: caller.user.id }),
    ...(filter.statuses ? { statuses: filter.statuses } : {}),
    ...(filter.limit !== undefined ? { limit: filter.limit } : {}),
  });
  return Promise.all(records.map((r) => toRequestView(ctx, r)));
}

export async function toRequestView(ctx: BotContext, r: RequestRecord): Promise<RequestView> {
  const [approvals, executions, preflights, schema] = await Promise.all([
    listApprovals(ctx.store, r.id),
    listExecutions(ctx.store, r.id),
    listPreflights(ctx.store, r.id),
    // Only a text that changes tables has any to name.
    (r.review.targets ?? []).length === 0
      ? undefined
      : findSchemaContext(ctx.store, r.database, r.environment),
  ]);
  return {
    id: r.id,
    status: r.status,
    requester: r.requester,
    database: r.database,
    environment: r.environment,
    operation: r.operation,
    sql: r.sql,
    sql_sha256: r.sqlSha256,
    reason: r.reason,
    review: { class: r.review.class, risk: r.review.risk, findings: [...r.review.findings] },
    workflow: workflowView(r, approvals, preflights),
    break_glass_reason: r.breakGlassReason,
    limits: { statement_timeout_ms: r.limits.statement_timeout_ms, row_cap: r.limits.row_cap },
    approvals: approvals.map((a) => ({
      approver: a.approver,
      step: a.step,
      decision: a.decision,
      comment: a.comment,
      at: a.createdAt,
    })),
    executions: executions.map(toExecutionView),
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    status_reason: r.statusReason,
    rerun_of: r.rerunOf,
    run_schedule: { run_by: r.runBy, run_requested_at: r.runRequestedAt, not_before: r.notBefore },
    preflights: preflights.map(toPreflightView),
    // The latest context, not the one at creation: sizes are shown as they are now, with their age.
    touched_tables: schema === undefined ? [] : touchedTables(r.review.targets ?? [], schema.tables),
    schema_collected_at: schema?.collectedAt ?? null,
  };
}

function toPreflightView(p: PreflightRecord): PreflightView {
  return {
    kind: p.kind,
    status: p.status,
    agent: p.agentId,
    finished_at: p.finishedAt,
    duration_ms: p.durationMs,
    summary: p.summary,
    affected_rows: p.affectedRows,
    error: p.error,
  };
}

function toExecutionView(e: ExecutionRecord): ExecutionView {
  return {
    number: e.number,
    agent: e.agent_id,
    status: e.status as ExecutionView["status"],
    started_at: e.claimed_at,
    finished_at: e.finished_at,
    row_count: e.row_count,
    affected_rows: e.affected_rows,
    duration_ms: e.duration_ms,
    error: e.error_code === null ? null : { code: e.error_code, message: e.error_message ?? "" },
    result_truncated_by: e.result_truncated_by,
  };
}

function workflowView(
  r: RequestRecord,
  approvals: readonly ApprovalRecord[],
  preflights: readonly PreflightRecord[],
): WorkflowView {
  const bound = rowBound(r.workflow, r.operation, dryRunCountOf(preflights));
  const progress = approvalProgress(
    r.workflow,
    approvals.filter((a) => a.decision === "approved"),
  );
  const auto = r.workflow.auto_approve;
  return {
    name: r.workflow.name,
    auto_approve:
      typeof auto === "string"
        ? auto
        : "risk_at_most" in auto
          ? `risk_at_most:${auto.risk_at_most}`
          : `max_rows:${auto.max_rows}`,
    steps: progress.steps.map((p) => ({
      name: p.step.name,
      mode: p.step.mode,
      min: p.step.min,
      approvers: [...p.step.approvers],
      escalated_to: [...escalatedTo(p.step)],
      approved_by: [...new Set([...p.counted.values()].flat())],
      satisfied: p.satisfied,
      waived_for_rows: p.step.waived?.rows ?? null,
    })),
    current_step: r.status === "pending_approval" ? (progress.current ?? null) : null,
    row_guard: bound.ok ? bound.maxRows : null,
    row_guard_from_dry_run:
      r.operation === "write" && r.workflow.guard !== undefined
        ? { tolerance_percent: r.workflow.guard.tolerance_percent }
        : null,
    run: r.workflow.run ?? "on_approval",
    ...(needsStepUp(r.workflow, r.review.risk) ? { step_up: "oidc" as const } : {}),
  };
}
