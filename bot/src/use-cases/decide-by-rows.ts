/**
 * What a dry run's count decides for a write still waiting for approval, in the transaction that
 * records the count: steps whose `min_rows` the count is under are waived (audited as
 * `request.steps_waived`), which may leave nothing to approve; then `auto_approve: { max_rows }`
 * may approve it. Returns the changes to deliver, in order.
 *
 * Only for a count that can be trusted to be the whole change (`countDecides`): the database
 * counts the rows of the table the statement changes, not the rows its foreign keys cascade
 * into, so a write the schema context cannot show to cascade nowhere is left to people; so is a
 * text whose risk could not be assessed or is critical, or that hides characters.
 */
import { touchedTables } from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import { approvalProgress } from "../core/approval-decision.ts";
import { autoApprovesByRows, withStepsWaivedByRows } from "../core/row-bounds.ts";
import { hasMaskedColumnFinding } from "../core/masked-column-review.ts";
import { autoApproves } from "../core/workflow.ts";
import type { Tx } from "../store/in-transaction.ts";
import type { SchemaContextRecord } from "../store/schema-contexts-repo.ts";
import { casWorkflow } from "../store/request-nudges-repo.ts";
import { listApprovals, type RequestRecord } from "../store/requests-repo.ts";
import { applyTransition } from "./apply-transition.ts";
import type { BotContext, RequestChange } from "./bot-context.ts";
import { dispatchWhenReady } from "./dispatch-when-ready.ts";

export async function decideByRows(
  ctx: BotContext,
  tx: Tx,
  request: RequestRecord,
  affectedRows: number,
  schema: SchemaContextRecord | undefined,
  now: Date,
): Promise<RequestChange[]> {
  if (!countDecides(request, schema)) return [];
  const waived = await waiveStepsByRows(ctx, tx, request, affectedRows, now);
  const auto = await autoApproveByRows(ctx, tx, waived?.request ?? request, affectedRows, now);
  return [...(waived === undefined ? [] : [waived.change]), ...(auto === undefined ? [] : [auto])];
}

/**
 * Whether the count may decide for this request (see the header): assessed, visible, no cascades.
 * `schema` is the target's latest context, read by the caller before its write transaction.
 */
function countDecides(request: RequestRecord, schema: SchemaContextRecord | undefined): boolean {
  const { review } = request;
  if ((review.unverifiedCalls ?? []).length > 0) return false;
  if (!autoApproves({ risk_at_most: "high" }, review.risk)) return false;
  if (review.findings.some((f) => f.rule === "invisible_characters")) return false;
  // A write that filters on a masked column: its count tells about values nobody was shown.
  if (hasMaskedColumnFinding(review)) return false;
  const targets = review.targets ?? [];
  if (schema === undefined || targets.length === 0) return false;
  return touchedTables(targets, schema.tables).every((t) => t.schema !== null && t.cascades.length === 0);
}

/**
 * Steps with `min_rows` above the count are waived (audited as `request.steps_waived`); when that
 * leaves no step waiting, the request is approved as by its last approval. Undefined when no
 * step was waived.
 */
async function waiveStepsByRows(
  ctx: BotContext,
  tx: Tx,
  request: RequestRecord,
  affectedRows: number,
  now: Date,
): Promise<{ change: RequestChange; request: RequestRecord } | undefined> {
  if (request.status !== "pending_approval") return undefined;
  const waived = withStepsWaivedByRows(request.workflow, request.operation, affectedRows);
  if (waived === undefined || !(await casWorkflow(tx, request.id, request.workflow, waived, now)))
    return undefined;
  const steps = waived.steps.flatMap((s, i) =>
    s.waived !== undefined && request.workflow.steps[i]?.waived === undefined ? [i] : [],
  );
  await appendAudit(
    tx,
    {
      actor: "system",
      action: "request.steps_waived",
      target: `request:${request.id}`,
      outcome: "success",
      details: { steps, dry_run_rows: affectedRows },
    },
    now,
  );
  const approvals = (await listApprovals(tx, request.id)).filter((a) => a.decision === "approved");
  if (approvalProgress(waived, approvals).current !== undefined) {
    const change: RequestChange = { requestId: request.id, action: "request.steps_waived", actor: "system" };
    await ctx.recordChange(tx, change);
    return { change, request: { ...request, workflow: waived } };
  }
  const approved = await applyTransition(
    tx,
    { ...request, workflow: waived },
    {
      event: "approve_final",
      actor: "system",
      action: "request.approved",
      now,
      details: { approvals: approvals.length, waived_steps: steps, dry_run_rows: affectedRows },
    },
  );
  const dispatched = await dispatchWhenReady(tx, approved, now);
  const change: RequestChange = { requestId: request.id, action: "request.approved", actor: "system" };
  await ctx.recordChange(tx, change);
  return { change, request: dispatched };
}

/**
 * `auto_approve: { max_rows: N }`: a write still waiting for approval whose dry run changed at
 * most N rows is approved by the system now, and dispatched when ready. A call the allowlist
 * could not prove still needs a person (plan-request.ts), whatever the count.
 */
async function autoApproveByRows(
  ctx: BotContext,
  tx: Tx,
  request: RequestRecord,
  affectedRows: number,
  now: Date,
): Promise<RequestChange | undefined> {
  if (request.status !== "pending_approval") return undefined;
  if (!autoApprovesByRows(request.workflow, request.operation, affectedRows)) return undefined;
  const approved = await applyTransition(tx, request, {
    event: "auto_approve",
    actor: "system",
    action: "request.auto_approved",
    now,
    details: { workflow: request.workflow.name, dry_run_rows: affectedRows },
  });
  await dispatchWhenReady(tx, approved, now);
  const change: RequestChange = { requestId: request.id, action: "request.auto_approved", actor: "system" };
  await ctx.recordChange(tx, change);
  return change;
}
