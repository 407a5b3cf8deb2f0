/**
 * An agent's late result (shared protocol: LateResultBody): what its outcome journal knew of a
 * job whose result never reached the bot. "executed, result not delivered" (the statement
 * committed; the counts are known, the rows are not) or "outcome unknown: check the target" (it
 * started, and the agent cannot tell whether it committed). Never a re-run, never a silent `lost`.
 *
 * - The execution still running here (the agent came back within its lease): it ends now, as
 *   succeeded or lost, and the request with it, the status reason saying which.
 * - The execution already lost (the lease ran out first): it stays lost, a final state, but the
 *   execution and the request's status reason now say what the agent knows, so no one retries
 *   a statement that committed without seeing it did.
 * Either way it is audited once, however often the agent sends it; the execution's error code
 * (LATE_OUTCOME_CODES) records that it was, and is what every surface reads.
 */
import {
  DbwardError,
  LATE_OUTCOME_CODES,
  LATE_OUTCOMES,
  type LateResultBody,
  type OperationClass,
  type RequestId,
} from "@dbward/shared";
import { z } from "zod";
import { appendAudit, hasAuditEvent } from "../audit/audit-log.ts";
import { annotateLostExecution, endRunningExecutionLate } from "../store/executions-repo.ts";
import type { Tx } from "../store/in-transaction.ts";
import { inTransaction } from "../store/in-transaction.ts";
import {
  casRequestStatus,
  findExecution,
  listExecutions,
  type ExecutionRecord,
} from "../store/requests-repo.ts";
import { applyTransition } from "./apply-transition.ts";
import type { BotContext, RequestChange } from "./bot-context.ts";
import { findRequestOrThrow } from "./find-request-or-throw.ts";
import { findOwnExecution } from "./heartbeat-job.ts";

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const lateResultBody = z
  .object({
    delivery: z.literal("late"),
    outcome: z.enum(LATE_OUTCOMES),
    session: z.string().optional(),
    affected_rows: count.optional(),
    row_count: count.optional(),
    error: z
      .object({ code: z.string().max(100), message: z.string().max(4000) })
      .strict()
      .optional(),
    started_at: z
      .string()
      .max(40)
      .refine((t) => Number.isFinite(Date.parse(t)), "an ISO 8601 time"),
  })
  .strict();

/** True for a body that says it is a late result; it is then validated as one, nothing else. */
export function isLateResult(raw: unknown): boolean {
  return typeof raw === "object" && raw !== null && (raw as { delivery?: unknown }).delivery !== undefined;
}

function parseLateResult(raw: unknown): LateResultBody {
  const parsed = lateResultBody.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? "" : `${issue.path.join(".")}: `;
    throw new DbwardError("request.invalid", `late result: ${where}${issue?.message ?? "malformed"}`);
  }
  const { affected_rows, row_count, error, session, ...rest } = parsed.data;
  return {
    ...rest,
    ...(session === undefined ? {} : { session }),
    ...(affected_rows === undefined ? {} : { affected_rows }),
    ...(row_count === undefined ? {} : { row_count }),
    ...(error === undefined ? {} : { error }),
  };
}

/** The status reason every surface shows, built from what the agent reported. */
export function lateReason(body: LateResultBody, operation: OperationClass): string {
  if (body.outcome === "unknown") {
    const why = body.error?.message ?? "the agent cannot tell whether the statement committed";
    return `outcome unknown: check the target before running it again; ${why}`;
  }
  const rows = (n: number, what: string): string => `${n} row${n === 1 ? "" : "s"} ${what}`;
  const counts =
    body.affected_rows !== undefined && operation !== "read"
      ? `: ${rows(body.affected_rows, "affected")}`
      : body.row_count !== undefined
        ? `: ${rows(body.row_count, "returned")}`
        : "";
  return `executed, result not delivered${counts}; the agent stopped before the bot took its result, so the rows are not available`;
}

export async function submitLateResult(
  ctx: BotContext,
  agentId: string,
  jobId: string,
  raw: unknown,
): Promise<{ recorded: "final" | "late" }> {
  const body = parseLateResult(raw);
  await findOwnExecution(ctx, agentId, jobId);
  const actor = `agent:${agentId}`;
  const result = await inTransaction(ctx.store, async (tx) => {
    const exe = await findExecution(tx, jobId);
    if (exe === undefined) throw new DbwardError("job.not_found", `no job ${jobId}`);
    // Already recorded: the agent sends it again when it did not hear the answer.
    if (exe.error_code === LATE_OUTCOME_CODES[body.outcome]) return undefined;
    const change: RequestChange = {
      requestId: exe.request_id as RequestId,
      action: exe.status === "running" && body.outcome === "unknown" ? "request.lost" : "request.finished",
      actor,
    };
    const recorded =
      exe.status === "running"
        ? await endRunning(ctx, tx, exe, body, actor)
        : await annotate(ctx, tx, exe, body, actor);
    await ctx.recordChange(tx, change);
    return { recorded, change };
  });
  if (result === undefined) return { recorded: "late" };
  // A late result has no rows to keep: whatever chunks came before are not a result.
  await ctx.results.remove(jobId);
  ctx.afterCommit(result.change);
  return { recorded: result.recorded };
}

function auditDetails(exe: ExecutionRecord, body: LateResultBody): Record<string, unknown> {
  return {
    execution: exe.number,
    delivery: "late",
    outcome: body.outcome,
    affected_rows: body.affected_rows ?? null,
    row_count: body.row_count ?? null,
    error: body.error ?? null,
    started_at: body.started_at,
    execution_status: exe.status,
  };
}

/** The agent came back while the execution still held its lease: it ends now. */
async function endRunning(
  ctx: BotContext,
  tx: Tx,
  exe: ExecutionRecord,
  body: LateResultBody,
  actor: string,
): Promise<"final" | "late"> {
  const now = ctx.clock.now();
  const request = await findRequestOrThrow(tx, exe.request_id as RequestId);
  const reason = lateReason(body, request.operation);
  const committed = body.outcome === "succeeded_unreported";
  await endRunningExecutionLate(tx, exe.id, committed ? "succeeded" : "lost", now.toISOString(), {
    affectedRows: body.affected_rows ?? null,
    errorCode: LATE_OUTCOME_CODES[body.outcome],
    errorMessage: reason,
  });
  const details = auditDetails(exe, body);
  if (request.status !== "running") {
    // Cancelled while it ran: the execution's end is recorded, the request stays cancelled.
    await appendAudit(
      tx,
      {
        actor,
        action: "execution.late_result",
        target: `request:${request.id}`,
        outcome: "failure",
        details,
      },
      now,
    );
    return "late";
  }
  await applyTransition(tx, request, {
    event: committed ? "succeed" : "lose",
    actor,
    action: committed ? "request.executed" : "request.lost",
    now,
    outcome: committed ? "success" : "failure",
    statusReason: reason,
    details,
  });
  return "final";
}

/**
 * The execution ended before the report came (lost, mostly): its final state stays, and what the
 * agent knows is added to it: the counts, the late outcome, and the request's status reason when
 * this is the request's latest execution and the request is still lost.
 */
async function annotate(
  ctx: BotContext,
  tx: Tx,
  exe: ExecutionRecord,
  body: LateResultBody,
  actor: string,
): Promise<"late"> {
  const now = ctx.clock.now();
  const request = await findRequestOrThrow(tx, exe.request_id as RequestId);
  const reason = lateReason(body, request.operation);
  const late = {
    actor,
    action: "execution.late_result",
    target: `request:${request.id}`,
    outcome: "failure",
    details: auditDetails(exe, body),
  } as const;
  if (!(await hasAuditEvent(tx, late))) await appendAudit(tx, late, now);
  if (exe.status !== "lost") return "late";
  await annotateLostExecution(tx, exe.id, {
    affectedRows: body.affected_rows ?? exe.affected_rows,
    errorCode: LATE_OUTCOME_CODES[body.outcome],
    errorMessage: reason,
  });
  const latest = (await listExecutions(tx, request.id)).at(-1);
  if (request.status === "lost" && latest?.id === exe.id) {
    // Not a transition: the request stays lost (only an operator's retry moves it); its reason
    // now says what the agent knows, so that retry is a decision made knowing it.
    await casRequestStatus(tx, request.id, "lost", "lost", {
      statusReason: reason,
      updatedAt: now.toISOString(),
    });
  }
  return "late";
}
