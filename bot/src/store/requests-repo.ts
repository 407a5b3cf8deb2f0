/**
 * Requests, approvals and executions in the state store: plain functions over a Kysely handle
 * (or a transaction). Status writes are compare-and-set on the old status; nothing here decides
 * whether a transition is allowed (core/request-state.ts does).
 */
import {
  type AgentCapability,
  isOperationClass,
  isRequestStatus,
  type OperationClass,
  type RequestId,
  type RequestStatus,
  type SqlReview,
} from "@dbward/shared";
import type { Kysely, Selectable } from "kysely";
import type { ExecutionLimits } from "../core/execution-policy.ts";
import type { WorkflowSnapshot } from "../core/workflow.ts";
import {
  openNullable,
  openValue,
  placeOf,
  sealNullable,
  sealValue,
  stateCipherOf,
} from "../crypto/state-cipher.ts";
import type { Tx } from "./in-transaction.ts";
import { parseStoredLimits, parseStoredWorkflow } from "./stored-request-json.ts";
import type { Database, ExecutionsTable } from "./tables.ts";

type Db = Kysely<Database> | Tx;

export interface RequestRecord {
  readonly id: RequestId;
  readonly status: RequestStatus;
  readonly requester: string;
  readonly database: string;
  readonly environment: string;
  readonly operation: OperationClass;
  readonly sql: string;
  readonly sqlSha256: string;
  readonly reason: string;
  readonly review: SqlReview;
  readonly workflow: WorkflowSnapshot;
  readonly limits: ExecutionLimits;
  readonly breakGlassReason: string | null;
  readonly statusReason: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly dispatchedAt: string | null;
  readonly expiresAt: string;
  /** The finished request this one runs again (Run again), or null. */
  readonly rerunOf: RequestId | null;
  readonly approvedAt: string | null;
  /** `run: by_requester`, approved, not yet run: it expires at this time (run-schedule.ts). */
  readonly runBy: string | null;
  /** `run: by_requester`: when its requester asked for it to run. */
  readonly runRequestedAt: string | null;
  /** The latest "not before" an approver attached. */
  readonly notBefore: string | null;
}

/** The fields a request is created without: its status and what happens to it later. */
type SetLater =
  | "id"
  | "status"
  | "statusReason"
  | "updatedAt"
  | "dispatchedAt"
  | "approvedAt"
  | "runBy"
  | "runRequestedAt"
  | "notBefore";

export interface ApprovalRecord {
  readonly approver: string;
  readonly step: number;
  readonly selector: string;
  readonly decision: "approved" | "rejected";
  readonly comment: string | null;
  readonly createdAt: string;
}

export type ExecutionRecord = Readonly<Omit<ExecutionsTable, "cancel_requested">> & {
  readonly cancel_requested: number;
};

export async function insertRequest(tx: Tx, r: Omit<RequestRecord, SetLater>): Promise<RequestId> {
  // Sealed values name their row (placeOf), and the row's id is the database's: an encrypted
  // store inserts placeholders and seals once the id is known, in the same transaction.
  const sealing = stateCipherOf(tx) !== undefined;
  const row = await tx
    .insertInto("requests")
    .values({
      status: "pending_approval",
      requester: r.requester,
      database_name: r.database,
      environment: r.environment,
      operation: r.operation,
      sql_text: sealing ? "" : await sealValue(tx, "requests.sql_text:new", r.sql),
      sql_sha256: r.sqlSha256,
      reason: sealing ? "" : r.reason,
      // The review quotes the statement (findings, touched tables): as secret as the SQL itself.
      review_json: sealing ? "" : JSON.stringify(r.review),
      workflow_json: JSON.stringify(r.workflow),
      limits_json: JSON.stringify(r.limits),
      break_glass_reason: sealing ? null : r.breakGlassReason,
      status_reason: null,
      created_at: r.createdAt,
      updated_at: r.createdAt,
      approved_at: null,
      dispatched_at: null,
      expires_at: r.expiresAt,
      rerun_of: r.rerunOf,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  if (sealing) {
    await tx
      .updateTable("requests")
      .set({
        sql_text: await sealValue(tx, placeOf("requests", "sql_text", row.id), r.sql),
        reason: await sealValue(tx, placeOf("requests", "reason", row.id), r.reason),
        review_json: await sealValue(
          tx,
          placeOf("requests", "review_json", row.id),
          JSON.stringify(r.review),
        ),
        break_glass_reason: await sealNullable(
          tx,
          placeOf("requests", "break_glass_reason", row.id),
          r.breakGlassReason,
        ),
      })
      .where("id", "=", row.id)
      .execute();
  }
  return row.id as RequestId;
}

export async function findRequest(db: Db, id: RequestId): Promise<RequestRecord | undefined> {
  const row = await db.selectFrom("requests").selectAll().where("id", "=", id).executeTakeFirst();
  return row === undefined ? undefined : toRecord(db, row);
}

export interface RequestFilter {
  readonly requester?: string;
  readonly statuses?: readonly RequestStatus[];
  readonly limit?: number;
}

export async function listRequests(db: Db, f: RequestFilter = {}): Promise<RequestRecord[]> {
  let q = db
    .selectFrom("requests")
    .selectAll()
    .orderBy("id", "desc")
    .limit(Math.min(f.limit ?? 50, 500));
  if (f.requester !== undefined) q = q.where("requester", "=", f.requester);
  if (f.statuses !== undefined && f.statuses.length > 0) q = q.where("status", "in", [...f.statuses]);
  return (await q.execute()).map((r) => toRecord(db, r));
}

/**
 * Requests an agent with `caps` may be offered at `now`, oldest first: every dispatched one, and
 * approved ones that may run (not waiting for their requester, past any window; run-schedule.ts),
 * inside the agent's capabilities. All chosen before the limit, so no number of requests that
 * wait, or that only other agents can run, pushes this agent's work out of it.
 */
export async function listOfferableRequests(
  db: Db,
  now: string,
  caps: readonly AgentCapability[],
  limit: number,
): Promise<RequestRecord[]> {
  const usable = caps.filter((c) => c.operations.length > 0);
  if (usable.length === 0) return [];
  const rows = await db
    .selectFrom("requests")
    .selectAll()
    .where((eb) =>
      eb.and([
        eb.or(
          usable.map((c) =>
            eb.and([
              eb("database_name", "=", c.database),
              eb("environment", "=", c.environment),
              eb("operation", "in", [...c.operations]),
            ]),
          ),
        ),
        eb.or([
          eb("status", "=", "dispatched"),
          eb.and([
            eb("status", "=", "approved"),
            eb.or([eb("run_by", "is", null), eb("run_requested_at", "is not", null)]),
            eb.or([eb("not_before", "is", null), eb("not_before", "<=", now)]),
          ]),
        ]),
      ]),
    )
    .orderBy("id", "asc")
    .limit(limit)
    .execute();
  return rows.map((r) => toRecord(db, r));
}

/** Every request waiting for approval, oldest first (the sweep's timed nudges read these). */
export async function listPendingRequests(db: Db): Promise<RequestRecord[]> {
  const rows = await db
    .selectFrom("requests")
    .selectAll()
    .where("status", "=", "pending_approval")
    .orderBy("id", "asc")
    .execute();
  return rows.map((r) => toRecord(db, r));
}

/** The request times the sweeper compares with a cutoff. */
export type DueColumn = "expires_at" | "approved_at" | "dispatched_at";

/**
 * Requests in one of `statuses` whose `column` time is at or before `cutoff` (a request with no
 * such time yet is never due).
 */
export async function listRequestIdsDue(
  db: Db,
  statuses: readonly RequestStatus[],
  column: DueColumn,
  cutoff: string,
): Promise<RequestId[]> {
  const rows = await db
    .selectFrom("requests")
    .select("id")
    .where("status", "in", [...statuses])
    .where(column, "<=", cutoff)
    .execute();
  return rows.map((r) => r.id as RequestId);
}

/**
 * Approved requests approved at or before `cutoff`, leaving out those still waiting for their
 * requester (listUnrunPastDeadline expires those), for the sweeper to judge.
 */
export async function listApprovedSince(db: Db, cutoff: string): Promise<RequestRecord[]> {
  const rows = await db
    .selectFrom("requests")
    .selectAll()
    .where("status", "in", ["approved", "dispatched"])
    .where("approved_at", "<=", cutoff)
    .where((eb) => eb.or([eb("run_by", "is", null), eb("run_requested_at", "is not", null)]))
    // A later Run now or window moves the start: those not yet past the cutoff are not read at
    // every sweep while they wait (a window can be days ahead).
    .where((eb) => eb.or([eb("run_requested_at", "is", null), eb("run_requested_at", "<=", cutoff)]))
    .where((eb) => eb.or([eb("not_before", "is", null), eb("not_before", "<=", cutoff)]))
    .execute();
  return rows.map((r) => toRecord(db, r));
}

/** `by_requester` requests their requester did not run by their `run_by`. */
export async function listUnrunPastDeadline(db: Db, now: string): Promise<RequestId[]> {
  const rows = await db
    .selectFrom("requests")
    .select("id")
    .where("status", "=", "approved")
    .where("run_requested_at", "is", null)
    .where("run_by", "<=", now)
    .execute();
  return rows.map((r) => r.id as RequestId);
}

/** Sets the parts of a request's run schedule given (run-schedule.ts), inside the change's transaction. */
export async function setRunSchedule(
  tx: Tx,
  id: RequestId,
  set: { runBy?: string | null; runRequestedAt?: string; notBefore?: string },
): Promise<void> {
  await tx
    .updateTable("requests")
    .set({
      ...(set.runBy !== undefined ? { run_by: set.runBy } : {}),
      ...(set.runRequestedAt !== undefined ? { run_requested_at: set.runRequestedAt } : {}),
      ...(set.notBefore !== undefined ? { not_before: set.notBefore } : {}),
    })
    .where("id", "=", id)
    .execute();
}

/** Compare-and-set: moves the request only if it is still in `from`. */
export async function casRequestStatus(
  tx: Tx,
  id: RequestId,
  from: RequestStatus,
  to: RequestStatus,
  set: { statusReason?: string | null; dispatchedAt?: string | null; approvedAt?: string; updatedAt: string },
): Promise<boolean> {
  const result = await tx
    .updateTable("requests")
    .set({
      status: to,
      updated_at: set.updatedAt,
      ...(set.statusReason !== undefined
        ? {
            status_reason: await sealNullable(tx, placeOf("requests", "status_reason", id), set.statusReason),
          }
        : {}),
      ...(set.dispatchedAt !== undefined ? { dispatched_at: set.dispatchedAt } : {}),
      ...(set.approvedAt !== undefined ? { approved_at: set.approvedAt } : {}),
    })
    .where("id", "=", id)
    .where("status", "=", from)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

export async function listApprovals(db: Db, id: RequestId): Promise<ApprovalRecord[]> {
  const rows = await db
    .selectFrom("approvals")
    .selectAll()
    .where("request_id", "=", id)
    .orderBy("created_at")
    .orderBy("step")
    .execute();
  return rows.map((r) => ({
    approver: r.approver,
    step: r.step,
    selector: r.selector,
    decision: r.decision,
    comment: openNullable(db, approvalPlace(id, r.step, r.approver), r.comment),
    createdAt: r.created_at,
  }));
}

export async function insertApproval(tx: Tx, id: RequestId, a: ApprovalRecord): Promise<void> {
  await tx
    .insertInto("approvals")
    .values({
      request_id: id,
      step: a.step,
      selector: a.selector,
      approver: a.approver,
      decision: a.decision,
      comment: await sealNullable(tx, approvalPlace(id, a.step, a.approver), a.comment),
      created_at: a.createdAt,
    })
    .execute();
}

const approvalPlace = (id: RequestId, step: number, approver: string): string =>
  placeOf("approvals", "comment", `${id}/${step}/${approver}`);

export async function listExecutions(db: Db, id: RequestId): Promise<ExecutionRecord[]> {
  const rows = await db
    .selectFrom("executions")
    .selectAll()
    .where("request_id", "=", id)
    .orderBy("number")
    .execute();
  return rows.map((r) => openExecution(db, r));
}

export async function findExecution(db: Db, jobId: string): Promise<ExecutionRecord | undefined> {
  const row = await db.selectFrom("executions").selectAll().where("id", "=", jobId).executeTakeFirst();
  return row === undefined ? undefined : openExecution(db, row);
}

/** An execution row with its sealed columns (executions-repo.ts writes them) in the clear. */
function openExecution(db: Db, r: ExecutionRecord): ExecutionRecord {
  return {
    ...r,
    result_json: openNullable(db, placeOf("executions", "result_json", r.id), r.result_json),
    error_message: openNullable(db, placeOf("executions", "error_message", r.id), r.error_message),
    result_columns: openNullable(db, placeOf("executions", "result_columns", r.id), r.result_columns),
  };
}

function toRecord(db: Db, r: Selectable<Database["requests"]>): RequestRecord {
  if (!isRequestStatus(r.status) || !isOperationClass(r.operation)) {
    throw new Error(`request ${r.id} has an unknown status or operation in the store`);
  }
  return {
    id: r.id as RequestId,
    status: r.status,
    requester: r.requester,
    database: r.database_name,
    environment: r.environment,
    operation: r.operation,
    sql: openValue(db, placeOf("requests", "sql_text", r.id), r.sql_text),
    sqlSha256: r.sql_sha256,
    reason: openValue(db, placeOf("requests", "reason", r.id), r.reason),
    review: JSON.parse(openValue(db, placeOf("requests", "review_json", r.id), r.review_json)) as SqlReview,
    workflow: parseStoredWorkflow(String(r.id), r.workflow_json),
    limits: parseStoredLimits(String(r.id), r.limits_json),
    breakGlassReason: openNullable(db, placeOf("requests", "break_glass_reason", r.id), r.break_glass_reason),
    statusReason: openNullable(db, placeOf("requests", "status_reason", r.id), r.status_reason),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    dispatchedAt: r.dispatched_at,
    expiresAt: r.expires_at,
    rerunOf: r.rerun_of === null ? null : (r.rerun_of as RequestId),
    approvedAt: r.approved_at,
    runBy: r.run_by,
    runRequestedAt: r.run_requested_at,
    notBefore: r.not_before,
  };
}
