/**
 * An agent reports a preflight: the plan as EXPLAIN returned it, or why it could not make one.
 * Only the agent that claimed it, once (compare-and-set on `running` and the agent). The bot
 * summarises the raw plan itself (plan-summary.ts), so what approvers read comes from one
 * function whatever the agent sent alongside; a failure to plan is kept and shown, not hidden.
 */
import {
  DbwardError,
  isPlanShape,
  summarizePlan,
  type PlanEngine,
  type PreflightResultBody,
} from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { findPreflight, finishPreflightRow } from "../store/preflights-repo.ts";
import type { BotContext, RequestChange } from "./bot-context.ts";
import { findRequestOrThrow } from "./find-request-or-throw.ts";
import { holdAgentSession, parseSessionId } from "./hold-agent-session.ts";

/** The largest plan kept, as JSON text; a bigger one is recorded as a failure to plan. */
export const MAX_PLAN_JSON_CHARS = 1_000_000;
const MAX_ERROR_CHARS = 2000;

/** The engine whose EXPLAIN a database of each dialect answers with. */
const ENGINE_OF: Readonly<Record<string, PlanEngine>> = { postgres: "postgres", mysql: "mysql" };

export async function submitPreflight(
  ctx: BotContext,
  agentId: string,
  preflightId: string,
  body: Partial<Record<keyof PreflightResultBody, unknown>>,
): Promise<void> {
  const session = parseSessionId(body.session);
  if (session !== undefined) await holdAgentSession(ctx, agentId, session);
  const report = parseReport(body);
  const change = await inTransaction(ctx.store, async (tx) => {
    const preflight = await findPreflight(tx, preflightId);
    if (preflight === undefined) throw new DbwardError("job.not_found", `no preflight ${preflightId}`);
    const request = await findRequestOrThrow(tx, preflight.requestId);
    const now = ctx.clock.now();
    const expected =
      ENGINE_OF[ctx.config().databases.find((d) => d.name === request.database)?.dialect ?? ""];
    const done = report.outcome === "failed" ? report : (notAPlan(report, expected) ?? report);
    const summary = done.outcome === "succeeded" ? summarizePlan(done.engine, done.plan) : undefined;
    const won = await finishPreflightRow(tx, preflightId, agentId, {
      status: done.outcome,
      finishedAt: now.toISOString(),
      durationMs: report.durationMs,
      ...(summary !== undefined && done.outcome === "succeeded"
        ? { summary, planJson: done.planJson ?? "null" }
        : {}),
      ...(done.outcome === "failed" ? { error: done.error } : {}),
    });
    if (!won)
      throw new DbwardError("job.lease_lost", `preflight ${preflightId} is not running for agent ${agentId}`);
    const actor = `agent:${agentId}`;
    await appendAudit(
      tx,
      {
        actor,
        action: "request.preflight_finished",
        target: `request:${request.id}`,
        outcome: done.outcome === "succeeded" ? "success" : "failure",
        details: {
          kind: preflight.kind,
          duration_ms: report.durationMs,
          ...(summary !== undefined ? { estimated_rows: summary.estimated_rows } : {}),
          ...(done.outcome === "failed" ? { code: done.error.code } : {}),
        },
      },
      now,
    );
    const recorded: RequestChange = { requestId: request.id, action: "request.preflight_finished", actor };
    await ctx.recordChange(tx, recorded);
    return recorded;
  });
  ctx.afterCommit(change);
}

/** Refuses (before a large body is read) a preflight this agent is not running. */
export async function findOwnPreflight(ctx: BotContext, agentId: string, preflightId: string): Promise<void> {
  const preflight = await findPreflight(ctx.store, preflightId);
  if (preflight === undefined) throw new DbwardError("job.not_found", `no preflight ${preflightId}`);
  if (preflight.status !== "running" || preflight.agentId !== agentId)
    throw new DbwardError("job.lease_lost", `preflight ${preflightId} is not running for agent ${agentId}`);
}

/** Why a reported plan is not one to show approvers, as a failure to record; undefined when it is. */
function notAPlan(
  report: Report & { outcome: "succeeded" },
  expected: PlanEngine | undefined,
): Report | undefined {
  if (report.engine !== expected)
    return failed(
      "preflight.invalid",
      `the plan is in ${report.engine}'s format, not ${expected ?? "a known one"}'s`,
    );
  if (report.planJson === undefined)
    return failed("preflight.invalid", "the plan could not be stored as JSON (nested too deeply)");
  if (report.planJson.length > MAX_PLAN_JSON_CHARS)
    return failed("preflight.invalid", `the plan is larger than ${MAX_PLAN_JSON_CHARS} characters of JSON`);
  if (!isPlanShape(report.engine, report.plan))
    return failed("preflight.invalid", `the answer is not in the shape ${report.engine}'s EXPLAIN gives`);
  return undefined;
}

type Report =
  | {
      outcome: "succeeded";
      durationMs: number;
      engine: PlanEngine;
      plan: unknown;
      planJson: string | undefined;
    }
  | { outcome: "failed"; durationMs: number; error: { code: string; message: string } };

function failed(code: string, message: string): Report & { outcome: "failed" } {
  return { outcome: "failed", durationMs: 0, error: { code, message } };
}

/** The report, or 400 `request.invalid` naming what is wrong with it. */
function parseReport(body: Partial<Record<keyof PreflightResultBody, unknown>>): Report {
  const invalid = (why: string): never => {
    throw new DbwardError("request.invalid", `preflight result: ${why}`);
  };
  const d = body.duration_ms;
  if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0)
    invalid("duration_ms must be a whole number ≥ 0");
  const durationMs = d as number;
  if (body.outcome === "failed") {
    const e = body.error as { code?: unknown; message?: unknown } | undefined;
    if (typeof e?.code !== "string" || typeof e.message !== "string")
      invalid("a failure needs error.code and error.message");
    const error = {
      code: String(e?.code).slice(0, 100),
      message: String(e?.message).slice(0, MAX_ERROR_CHARS),
    };
    return { outcome: "failed", durationMs, error };
  }
  if (body.outcome !== "succeeded") invalid("outcome must be succeeded or failed");
  if (body.engine !== "postgres" && body.engine !== "mysql") invalid("engine must be postgres or mysql");
  if (body.plan === undefined || body.plan === null) invalid("a plan is required with succeeded");
  return {
    outcome: "succeeded",
    durationMs,
    engine: body.engine as PlanEngine,
    plan: body.plan,
    planJson: jsonOf(body.plan),
  };
}

/** The plan as JSON text; undefined when it cannot be written (nested past the stack). */
function jsonOf(plan: unknown): string | undefined {
  try {
    return JSON.stringify(plan);
  } catch {
    return undefined;
  }
}
