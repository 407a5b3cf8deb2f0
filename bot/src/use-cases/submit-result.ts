/**
 * An agent reports how an execution ended. The execution row, the request's final status and the
 * audit event commit together. A result for an execution that is no longer running (its lease
 * expired, or the request was cancelled) is recorded as late, in the audit trail, with its real
 * outcome, once however often it is sent, and never overwrites a final state. A successful
 * result's rows (sent before as chunks, or inline when small) are counted and sealed in the result
 * store first; the audit event records their totals and any truncation.
 *
 * A late result (`delivery: "late"`, shared protocol: LateResultBody) is the agent's account of a
 * job whose result never reached the bot: "executed, result not delivered" or "outcome unknown:
 * check the target" (submit-late-result.ts). The caller's session is checked first: a result
 * from a process that is not the agent id's live session is refused (agent.session_conflict).
 */
import { DbwardError, type JobOutcome, type RequestId } from "@dbward/shared";
import { appendAudit, hasAuditEvent } from "../audit/audit-log.ts";
import type { RequestEvent } from "../core/request-state.ts";
import { parseResultBody } from "../results/parse-result-body.ts";
import { storeResult } from "../results/store-result.ts";
import { recordExecutionEnd, type ExecutionStatus } from "../store/executions-repo.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { findExecution } from "../store/requests-repo.ts";
import { applyTransition } from "./apply-transition.ts";
import type { BotContext, RequestChange } from "./bot-context.ts";
import { findRequestOrThrow } from "./find-request-or-throw.ts";
import { findOwnExecution } from "./heartbeat-job.ts";
import { holdAgentSession, parseSessionId } from "./hold-agent-session.ts";
import { isLateResult, submitLateResult } from "./submit-late-result.ts";

const EXECUTION_STATUS = {
  succeeded: "succeeded",
  failed: "failed",
  refused: "failed",
  timed_out: "timed_out",
  cancelled: "cancelled",
} as const satisfies Record<JobOutcome, ExecutionStatus>;
const REQUEST_EVENT = {
  succeeded: "succeed",
  failed: "fail",
  refused: "fail",
  timed_out: "time_out",
  cancelled: "fail",
} as const satisfies Record<JobOutcome, RequestEvent>;
const ACTION = {
  succeeded: "request.executed",
  failed: "request.failed",
  refused: "execution.refused",
  timed_out: "request.timed_out",
  cancelled: "request.failed",
} as const satisfies Record<JobOutcome, string>;

export async function submitResult(
  ctx: BotContext,
  agentId: string,
  jobId: string,
  raw: unknown,
): Promise<{ recorded: "final" | "late" }> {
  const session = parseSessionId(
    typeof raw === "object" && raw !== null ? (raw as { session?: unknown }).session : undefined,
  );
  if (session !== undefined) await holdAgentSession(ctx, agentId, session);
  if (isLateResult(raw)) return submitLateResult(ctx, agentId, jobId, raw);
  const body = parseResultBody(raw);
  const own = await findOwnExecution(ctx, agentId, jobId);
  // Rows are stored (and fsynced) before the transaction that records them; a result that will
  // not be kept has its chunks removed after it.
  const stored =
    own.status === "running" && body.outcome === "succeeded"
      ? await storeResult(ctx.results, jobId, body)
      : undefined;
  const actor = `agent:${agentId}`;
  const finished = (requestId: number): RequestChange => ({
    requestId: requestId as RequestId,
    action: "request.finished",
    actor,
  });
  const result = await inTransaction(ctx.store, async (tx) => {
    const now = ctx.clock.now();
    const exe = await findExecution(tx, jobId);
    if (exe === undefined) throw new DbwardError("job.not_found", `no job ${jobId}`);
    const summary = {
      execution: exe.number,
      outcome: body.outcome,
      duration_ms: body.duration_ms,
      row_count: stored?.rows ?? body.streamed?.row_count ?? body.result?.rows.length ?? null,
      affected_rows: body.affected_rows ?? null,
      truncated: stored === undefined ? false : stored.truncatedBy !== null,
      truncated_by: stored?.truncatedBy ?? null,
      chunks: stored?.chunks ?? null,
      bytes: stored?.bytes ?? null,
      ...(stored !== undefined && stored.agentRows !== stored.rows
        ? { agent_row_count: stored.agentRows }
        : {}),
      error: body.error ?? null,
    };
    if (exe.status !== "running") {
      const late = {
        actor,
        action: "execution.late_result",
        target: `request:${exe.request_id}`,
        outcome: "failure",
        details: { ...summary, execution_status: exe.status },
      } as const;
      // The agent sends its outbox again when it did not hear the answer: the same report is
      // one event, however often it arrives; a report that says something else is its own.
      if (!(await hasAuditEvent(tx, late))) await appendAudit(tx, late, now);
      await ctx.recordChange(tx, finished(exe.request_id));
      return { recorded: "late", requestId: exe.request_id, keepRows: false } as const;
    }
    const retentionHours = ctx.config().results.retention_hours;
    await recordExecutionEnd(tx, jobId, {
      status: EXECUTION_STATUS[body.outcome],
      finishedAt: now.toISOString(),
      durationMs: body.duration_ms,
      rowCount: stored?.rows ?? null,
      affectedRows: body.affected_rows ?? null,
      resultJson: stored === undefined ? null : JSON.stringify(stored.preview),
      resultChunks: stored?.chunks ?? null,
      resultBytes: stored?.bytes ?? null,
      resultTruncatedBy: stored?.truncatedBy ?? null,
      resultExpiresAt:
        stored === undefined || retentionHours === 0
          ? null
          : new Date(now.getTime() + retentionHours * 3_600_000).toISOString(),
      errorCode: body.error?.code ?? null,
      errorMessage: body.error?.message ?? null,
    });
    const request = await findRequestOrThrow(tx, exe.request_id as RequestId);
    if (request.status !== "running") {
      // Cancelled while running: the execution's real end is recorded, the request stays cancelled.
      await appendAudit(
        tx,
        {
          actor,
          action: "execution.finished_after_cancel",
          target: `request:${request.id}`,
          outcome: "success",
          details: summary,
        },
        now,
      );
      await ctx.recordChange(tx, finished(request.id));
      return { recorded: "late", requestId: request.id, keepRows: stored !== undefined } as const;
    }
    const ok = body.outcome === "succeeded";
    await applyTransition(tx, request, {
      event: REQUEST_EVENT[body.outcome],
      actor,
      action: ACTION[body.outcome],
      now,
      outcome: ok ? "success" : body.outcome === "refused" ? "denied" : "failure",
      statusReason: ok ? null : (body.error?.message ?? body.outcome),
      details: summary,
    });
    await ctx.recordChange(tx, finished(request.id));
    return { recorded: "final", requestId: request.id, keepRows: stored !== undefined } as const;
  });
  if (!result.keepRows) await ctx.results.remove(jobId);
  ctx.afterCommit(finished(result.requestId));
  return { recorded: result.recorded };
}
