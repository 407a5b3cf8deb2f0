/**
 * Creates a request: review the SQL, match a workflow (or refuse: fail closed), record it, and
 * if the workflow auto-approves, approve and dispatch it in the same transaction.
 */
import {
  DbwardError,
  parseDatabaseName,
  parseEnvironmentName,
  reviewSql,
  sha256Hex,
  type CreateRequestBody,
  type RequestId,
} from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import { matchWorkflow } from "../core/workflow.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { findRequest, insertRequest, type RequestRecord } from "../store/requests-repo.ts";
import { applyTransition } from "./apply-transition.ts";
import type { BotContext } from "./bot-context.ts";
import { actorOf, assertPermission, type UserCaller } from "./caller.ts";
import { recordDenial } from "./record-denial.ts";

export const MAX_SQL_BYTES = 100 * 1024;
export const MAX_REASON_LENGTH = 2000;

export async function createRequest(
  ctx: BotContext,
  caller: UserCaller,
  body: Partial<Record<keyof CreateRequestBody, unknown>>,
): Promise<RequestRecord> {
  const actor = actorOf(caller);
  const deny = (error: DbwardError, details?: Record<string, unknown>): Promise<never> =>
    recordDenial(ctx, {
      actor,
      action: "request.create_refused",
      target: "",
      error,
      ...(details ? { details } : {}),
    });
  try {
    assertPermission(caller, "request.create");
  } catch (err) {
    return deny(err as DbwardError);
  }
  const input = parseCreateBody(body);
  const config = ctx.config();
  const db = config.databases.find((d) => d.name === input.database);
  if (db === undefined) {
    throw new DbwardError(
      "request.invalid",
      `unknown database ${input.database}; known: ${config.databases.map((d) => d.name).join(", ")}`,
    );
  }
  if (!db.environments.includes(input.environment)) {
    throw new DbwardError(
      "request.invalid",
      `database ${db.name} has no environment ${input.environment}; it has ${db.environments.join(", ")}`,
    );
  }
  const review = reviewSql(input.sql, db.dialect);
  const blocking = review.findings.filter((f) => f.severity === "block");
  if (review.class === "rejected" || blocking.length > 0) {
    const why = blocking.map((f) => f.message).join("; ") || "the SQL review rejected this text";
    return deny(new DbwardError("sql.rejected", `SQL refused: ${why}`, { findings: blocking }), {
      database: db.name,
      environment: input.environment,
      sql_sha256: sha256Hex(input.sql),
    });
  }
  const operation = review.class;
  const match = matchWorkflow(config.workflows, {
    database: db.name,
    environment: input.environment,
    operation,
  });
  if (!match.ok) {
    return deny(new DbwardError("request.no_workflow", match.reason), {
      database: db.name,
      environment: input.environment,
      operation,
    });
  }
  const now = ctx.clock.now();
  const created = await inTransaction(ctx.store, async (tx) => {
    const id = await insertRequest(tx, {
      requester: caller.user.id,
      database: db.name,
      environment: input.environment,
      operation,
      sql: input.sql,
      sqlSha256: sha256Hex(input.sql),
      reason: input.reason,
      review,
      workflow: match.workflow,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + config.execution.pending_ttl_ms).toISOString(),
    });
    await appendAudit(
      tx,
      {
        actor,
        action: "request.created",
        target: `request:${id}`,
        outcome: "success",
        details: {
          database: db.name,
          environment: input.environment,
          operation,
          sql_sha256: sha256Hex(input.sql),
          risk: review.risk,
          workflow: match.workflow.name,
          via: caller.via,
        },
      },
      now,
    );
    let request = await mustFind(tx, id);
    if (match.workflow.auto_approve) {
      request = await applyTransition(tx, request, {
        event: "auto_approve",
        actor: "system",
        action: "request.auto_approved",
        now,
        details: { workflow: match.workflow.name },
      });
      request = await applyTransition(tx, request, {
        event: "dispatch",
        actor: "system",
        action: "request.dispatched",
        now,
      });
    }
    return request;
  });
  ctx.afterCommit({ requestId: created.id, action: "request.created", actor });
  if (created.status === "dispatched") ctx.jobs.notify();
  return created;
}

async function mustFind(tx: Parameters<typeof findRequest>[0], id: RequestId): Promise<RequestRecord> {
  const r = await findRequest(tx, id);
  if (r === undefined)
    throw new DbwardError("internal", `request #${id} vanished inside its own transaction`);
  return r;
}

function parseCreateBody(body: Partial<Record<keyof CreateRequestBody, unknown>>): {
  database: string;
  environment: string;
  sql: string;
  reason: string;
} {
  const problems: string[] = [];
  const database = parseDatabaseName(body.database);
  const environment = parseEnvironmentName(body.environment);
  if (database === undefined) problems.push("database: a database name is required");
  if (environment === undefined) problems.push("environment: an environment name is required");
  if (typeof body.sql !== "string" || body.sql.trim() === "") problems.push("sql: the SQL text is required");
  else if (Buffer.byteLength(body.sql) > MAX_SQL_BYTES)
    problems.push(`sql: longer than ${MAX_SQL_BYTES} bytes`);
  if (typeof body.reason !== "string" || body.reason.trim() === "")
    problems.push("reason: say why this needs to run");
  else if (body.reason.length > MAX_REASON_LENGTH)
    problems.push(`reason: longer than ${MAX_REASON_LENGTH} characters`);
  if (problems.length > 0 || database === undefined || environment === undefined) {
    throw new DbwardError("request.invalid", problems.join("; "), { problems });
  }
  return { database, environment, sql: body.sql as string, reason: (body.reason as string).trim() };
}
