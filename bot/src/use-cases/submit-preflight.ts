/**
 * An agent reports a preflight: the plan as EXPLAIN returned it, or a dry run's count of changed
 * rows, or why it has neither. Only the agent that claimed it, once (compare-and-set on `running`
 * and the agent). The bot summarises the raw plan itself (plan-summary.ts), so what approvers
 * read comes from one function whatever the agent sent alongside; a report of the other kind's
 * shape, or a failure, is kept and shown as a failure, not hidden. A dry run is audited here as
 * a preflight, never as an execution.
 */
import {
  DbwardError,
  isPlanShape,
  summarizePlan,
  type PlanEngine,
  type PlanSummary,
  type PreflightKind,
  type PreflightResultBody,
  type SqlDialect,
} from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { findPreflight, finishPreflightRow } from "../store/preflights-repo.ts";
import { findRequest } from "../store/requests-repo.ts";
import { findSchemaContext, type SchemaContextRecord } from "../store/schema-contexts-repo.ts";
import type { BotContext, RequestChange } from "./bot-context.ts";
import { decideByRows } from "./decide-by-rows.ts";
import { findRequestOrThrow } from "./find-request-or-throw.ts";
import { holdAgentSession, parseSessionId } from "./hold-agent-session.ts";

/** The largest plan kept, as JSON text; a bigger one is recorded as a failure to plan. */
export const MAX_PLAN_JSON_CHARS = 1_000_000;
const MAX_ERROR_CHARS = 2000;

export async function submitPreflight(
  ctx: BotContext,
  agentId: string,
  preflightId: string,
  body: Partial<Record<keyof PreflightResultBody, unknown>>,
): Promise<void> {
  const session = parseSessionId(body.session);
  if (session !== undefined) await holdAgentSession(ctx, agentId, session);
  // Encoding, shape checks and the summary walk up to 2 MB of plan: done before the transaction,
  // so none of it holds the store's write lock.
  const report = checkPlan(parseReport(body));
  // A count may decide by the schema context (decide-by-rows.ts): read before the write lock too.
  const schema =
    report.outcome === "succeeded" && report.kind === "dry_run"
      ? await schemaOf(ctx, preflightId)
      : undefined;
  const changes = await inTransaction(ctx.store, async (tx) => {
    const preflight = await findPreflight(tx, preflightId);
    if (preflight === undefined) throw new DbwardError("job.not_found", `no preflight ${preflightId}`);
    const request = await findRequestOrThrow(tx, preflight.requestId);
    const now = ctx.clock.now();
    const dialect = ctx.config().databases.find((d) => d.name === request.database)?.dialect;
    const done = judge(report, preflight.kind, dialect);
    const won = await finishPreflightRow(tx, preflightId, agentId, {
      status: done.outcome,
      finishedAt: now.toISOString(),
      durationMs: report.durationMs,
      ...stored(done),
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
          ...(done.outcome === "failed"
            ? { code: done.error.code }
            : done.kind === "explain"
              ? { estimated_rows: done.summary.estimated_rows }
              : { affected_rows: done.affectedRows }),
        },
      },
      now,
    );
    const recorded: RequestChange = { requestId: request.id, action: "request.preflight_finished", actor };
    await ctx.recordChange(tx, recorded);
    if (done.outcome !== "succeeded" || done.kind !== "dry_run") return [recorded];
    return [recorded, ...(await decideByRows(ctx, tx, request, done.affectedRows, schema, now))];
  });
  for (const c of changes) ctx.afterCommit(c);
  if (changes.length > 1) ctx.jobs.notify();
}

/** The latest schema context of the preflight's target, if there is one. */
async function schemaOf(ctx: BotContext, preflightId: string): Promise<SchemaContextRecord | undefined> {
  const preflight = await findPreflight(ctx.store, preflightId);
  const request = preflight === undefined ? undefined : await findRequest(ctx.store, preflight.requestId);
  return request === undefined
    ? undefined
    : findSchemaContext(ctx.store, request.database, request.environment);
}

/** Refuses (before a large body is read) a preflight this agent is not running. */
export async function findOwnPreflight(ctx: BotContext, agentId: string, preflightId: string): Promise<void> {
  const preflight = await findPreflight(ctx.store, preflightId);
  if (preflight === undefined) throw new DbwardError("job.not_found", `no preflight ${preflightId}`);
  if (preflight.status !== "running" || preflight.agentId !== agentId)
    throw new DbwardError("job.lease_lost", `preflight ${preflightId} is not running for agent ${agentId}`);
}

/**
 * The engine whose EXPLAIN a database of each dialect answers with: a complete map, so a dialect
 * added later has to say whether it has plans. SQLite has none.
 */
const ENGINE_OF = { postgres: "postgres", mysql: "mysql", sqlite: undefined } as const satisfies Record<
  SqlDialect,
  PlanEngine | undefined
>;

/** The report as it is recorded: one of the other kind, or a plan in the wrong engine's format, is a failure. */
function judge(report: Checked, kind: PreflightKind, dialect: SqlDialect | undefined): Checked {
  if (report.outcome === "failed") return report;
  if (report.kind !== kind)
    return failed(
      "preflight.invalid",
      kind === "explain" ? "a row count was reported for a plan" : "a plan was reported for a dry run",
      report.durationMs,
    );
  return report.kind === "explain" ? (engineProblem(report, dialect) ?? report) : report;
}

/** What the store keeps of a recorded report. */
function stored(
  done: Checked,
): { summary: PlanSummary; planJson: string } | { affectedRows: number } | { error: Failed["error"] } {
  if (done.outcome === "failed") return { error: done.error };
  return done.kind === "explain"
    ? { summary: done.summary, planJson: done.planJson }
    : { affectedRows: done.affectedRows };
}

/** A plan in another engine's format than its database's, as a failure to record; undefined when it fits. */
function engineProblem(report: CheckedPlan, dialect: SqlDialect | undefined): Failed | undefined {
  const expected = dialect === undefined ? undefined : ENGINE_OF[dialect];
  if (report.engine === expected) return undefined;
  return failed(
    "preflight.invalid",
    `the plan is in ${report.engine}'s format, not ${expected ?? "a known one"}'s`,
  );
}

type Failed = { outcome: "failed"; durationMs: number; error: { code: string; message: string } };
type Plan = { outcome: "succeeded"; kind: "explain"; durationMs: number; engine: PlanEngine; plan: unknown };
type Count = { outcome: "succeeded"; kind: "dry_run"; durationMs: number; affectedRows: number };
type Parsed = Plan | Count | Failed;
/** A plan that can be stored and shown: its JSON text and the bot's own summary of it. */
type CheckedPlan = Plan & { planJson: string; summary: PlanSummary };
type Checked = CheckedPlan | Count | Failed;

function failed(code: string, message: string, durationMs = 0): Failed {
  return { outcome: "failed", durationMs, error: { code, message } };
}

/** A reported plan checked to be one to show approvers; anything else becomes a failure to plan. */
function checkPlan(report: Parsed): Checked {
  if (report.outcome === "failed" || report.kind === "dry_run") return report;
  const invalid = (why: string): Failed => failed("preflight.invalid", why, report.durationMs);
  const planJson = jsonOf(report.plan);
  if (planJson === undefined) return invalid("the plan could not be stored as JSON (nested too deeply)");
  if (planJson.length > MAX_PLAN_JSON_CHARS)
    return invalid(`the plan is larger than ${MAX_PLAN_JSON_CHARS} characters of JSON`);
  if (!isPlanShape(report.engine, report.plan))
    return invalid(`the answer is not in the shape ${report.engine}'s EXPLAIN gives`);
  return { ...report, planJson, summary: summarizePlan(report.engine, report.plan) };
}

/** The report, or 400 `request.invalid` naming what is wrong with it. */
function parseReport(body: Partial<Record<keyof PreflightResultBody, unknown>>): Parsed {
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
    return failed(String(e?.code).slice(0, 100), String(e?.message).slice(0, MAX_ERROR_CHARS), durationMs);
  }
  if (body.outcome !== "succeeded") invalid("outcome must be succeeded or failed");
  if (body.affected_rows !== undefined) {
    const n = body.affected_rows;
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0)
      invalid("affected_rows must be a whole number ≥ 0");
    if (body.engine !== undefined || body.plan !== undefined)
      invalid("a dry run's count comes without a plan");
    return { outcome: "succeeded", kind: "dry_run", durationMs, affectedRows: n as number };
  }
  if (body.engine !== "postgres" && body.engine !== "mysql") invalid("engine must be postgres or mysql");
  if (body.plan === undefined || body.plan === null) invalid("a plan is required with succeeded");
  return {
    outcome: "succeeded",
    kind: "explain",
    durationMs,
    engine: body.engine as PlanEngine,
    plan: body.plan,
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
