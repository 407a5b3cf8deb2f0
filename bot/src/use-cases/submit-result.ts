/**
 * An agent reports how an execution ended. The execution row, the request's final status and the
 * audit event commit together. A result for an execution that is no longer running (its lease
 * expired, or the request was cancelled) is recorded as late, in the audit trail, and never
 * overwrites a final state.
 */
import {
  DbwardError,
  JOB_OUTCOMES,
  type JobOutcome,
  type JobResultBody,
  type RequestId,
  type ResultTable,
} from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import type { RequestEvent } from "../core/request-state.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { findExecution } from "../store/requests-repo.ts";
import { applyTransition } from "./apply-transition.ts";
import type { BotContext } from "./bot-context.ts";
import { findRequestOrThrow } from "./find-request-or-throw.ts";
import { findOwnExecution } from "./heartbeat-job.ts";

const EXECUTION_STATUS = {
  succeeded: "succeeded",
  failed: "failed",
  refused: "failed",
  timed_out: "timed_out",
  cancelled: "cancelled",
} as const satisfies Record<JobOutcome, string>;
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
  const body = parseResultBody(raw);
  await findOwnExecution(ctx, agentId, jobId);
  const actor = `agent:${agentId}`;
  const result = await inTransaction(ctx.store, async (tx) => {
    const now = ctx.clock.now();
    const exe = await findExecution(tx, jobId);
    if (exe === undefined) throw new DbwardError("job.not_found", `no job ${jobId}`);
    const summary = {
      execution: exe.number,
      outcome: body.outcome,
      duration_ms: body.duration_ms,
      row_count: body.result?.row_count ?? null,
      affected_rows: body.affected_rows ?? null,
      truncated: body.result?.truncated ?? false,
      error: body.error ?? null,
    };
    if (exe.status !== "running") {
      await appendAudit(
        tx,
        {
          actor,
          action: "execution.late_result",
          target: `request:${exe.request_id}`,
          outcome: "failure",
          details: { ...summary, execution_status: exe.status },
        },
        now,
      );
      return { recorded: "late", requestId: exe.request_id } as const;
    }
    await tx
      .updateTable("executions")
      .set({
        status: EXECUTION_STATUS[body.outcome],
        finished_at: now.toISOString(),
        duration_ms: body.duration_ms,
        row_count: body.result?.row_count ?? null,
        affected_rows: body.affected_rows ?? null,
        result_json: body.result === undefined ? null : JSON.stringify(body.result),
        error_code: body.error?.code ?? null,
        error_message: body.error?.message ?? null,
      })
      .where("id", "=", jobId)
      .execute();
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
      return { recorded: "late", requestId: request.id } as const;
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
    return { recorded: "final", requestId: request.id } as const;
  });
  ctx.afterCommit({ requestId: result.requestId as RequestId, action: "request.finished", actor });
  return { recorded: result.recorded };
}

function parseResultBody(raw: unknown): JobResultBody {
  const o = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
  const outcome = o.outcome;
  if (typeof outcome !== "string" || !(JOB_OUTCOMES as readonly string[]).includes(outcome)) {
    throw new DbwardError("request.invalid", `outcome must be one of ${JOB_OUTCOMES.join(", ")}`);
  }
  if (typeof o.duration_ms !== "number" || !Number.isFinite(o.duration_ms) || o.duration_ms < 0) {
    throw new DbwardError("request.invalid", "duration_ms must be a non-negative number");
  }
  const body: JobResultBody = { outcome: outcome as JobOutcome, duration_ms: Math.round(o.duration_ms) };
  if (o.result !== undefined) body.result = parseTable(o.result);
  if (o.affected_rows !== undefined) {
    if (!Number.isSafeInteger(o.affected_rows))
      throw new DbwardError("request.invalid", "affected_rows must be an integer");
    body.affected_rows = o.affected_rows as number;
  }
  if (o.error !== undefined) {
    const e = o.error as Record<string, unknown>;
    if (typeof e !== "object" || typeof e.code !== "string" || typeof e.message !== "string") {
      throw new DbwardError("request.invalid", "error must be { code, message }");
    }
    body.error = { code: e.code.slice(0, 100), message: e.message.slice(0, 4000) };
  }
  if (outcome !== "succeeded" && body.error === undefined)
    throw new DbwardError("request.invalid", `an outcome of ${outcome} needs an error`);
  return body;
}

function parseTable(v: unknown): ResultTable {
  const t = (typeof v === "object" && v !== null ? v : {}) as Record<string, unknown>;
  const columns = t.columns;
  const rows = t.rows;
  if (
    !Array.isArray(columns) ||
    !columns.every((c) => typeof c === "string") ||
    !Array.isArray(rows) ||
    !rows.every(Array.isArray)
  ) {
    throw new DbwardError("request.invalid", "result must have columns (strings) and rows (arrays)");
  }
  if (!Number.isSafeInteger(t.row_count) || typeof t.truncated !== "boolean") {
    throw new DbwardError("request.invalid", "result must have row_count and truncated");
  }
  return {
    columns: columns as string[],
    rows: rows as unknown[][],
    row_count: t.row_count as number,
    truncated: t.truncated,
  };
}
