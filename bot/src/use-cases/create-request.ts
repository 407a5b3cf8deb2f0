/**
 * Creates a request: plan it (SQL review, workflow, limits — or refuse, failing closed), record
 * it, and when the workflow auto-approves it, or a permitted role breaks the glass, approve and
 * dispatch it in the same transaction.
 *
 * With an `Idempotency-Key` (docs/api.md#idempotency-key) the key is stored in that same
 * transaction, under the primary key (requester, key): of any number of racing calls with one
 * key exactly one commits a request, and every other one answers that request (same body) or
 * `request.idempotency_conflict` (another body). A replay changes nothing, so it audits nothing.
 *
 * With `rerun_of` (Run again, find-rerunnable.ts) the new request is linked to a finished one of
 * the caller's; it is planned and decided exactly like any other, never approved by the link.
 */
import {
  canonicalJson,
  DbwardError,
  parseDatabaseName,
  parseEnvironmentName,
  parseRequestId,
  sha256Hex,
  type RequestId,
  type CreateRequestBody,
  type PreflightKind,
} from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import { planRequest } from "../core/plan-request.ts";
import { awaitsDryRunCount } from "../core/row-bounds.ts";
import type { BotConfig } from "../config/bot-config.ts";
import { findIdempotencyKey, storeIdempotencyKey } from "../store/idempotency-keys-repo.ts";
import { insertPreflight } from "../store/preflights-repo.ts";
import { findSchemaContext } from "../store/schema-contexts-repo.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { insertRequest, setRunSchedule, type RequestRecord } from "../store/requests-repo.ts";
import { applyTransition } from "./apply-transition.ts";
import { dispatchWhenReady } from "./dispatch-when-ready.ts";
import type { BotContext, RequestChange } from "./bot-context.ts";
import { actorOf, assertPermission, type UserCaller } from "./caller.ts";
import { findRequestOrThrow } from "./find-request-or-throw.ts";
import { assertRerunnable, findRerunnable } from "./find-rerunnable.ts";
import { recordDenial } from "./record-denial.ts";

export const MAX_SQL_BYTES = 100 * 1024;
export const MAX_REASON_LENGTH = 2000;
export const MIN_BREAK_GLASS_REASON = 10;

type Body = Partial<Record<keyof CreateRequestBody, unknown>>;

/** What a create call came to: a new request, or the one its `Idempotency-Key` already named. */
export interface CreatedRequest {
  readonly request: RequestRecord;
  /** True when nothing was created: the key's earlier call made `request`. */
  readonly replayed: boolean;
}

/** An `Idempotency-Key` and the SHA-256 of the canonical JSON of the body it came with. */
interface KeyedBody {
  readonly key: string;
  readonly bodySha256: string;
}

/** Thrown inside the transaction when a racing call stored the key first: rolls the request back. */
class KeyTakenMeanwhile extends Error {}

export async function createRequest(ctx: BotContext, caller: UserCaller, body: Body): Promise<RequestRecord> {
  return (await createRequestWithKey(ctx, caller, body, undefined)).request;
}

/**
 * createRequest, remembering `idempotencyKey` (already checked against IDEMPOTENCY_KEY_PATTERN)
 * for the caller: a call whose key is live answers the key's request instead of creating one.
 */
export async function createRequestWithKey(
  ctx: BotContext,
  caller: UserCaller,
  body: Body,
  idempotencyKey: string | undefined,
): Promise<CreatedRequest> {
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
  // Parsed first: a body that is not valid (a number JSON cannot carry) is a 400 with or without a key.
  const input = parseCreateBody(body);
  const key: KeyedBody | undefined =
    idempotencyKey === undefined
      ? undefined
      : { key: idempotencyKey, bodySha256: sha256Hex(canonicalJson(body)) };
  // Before the rate limit: a client's retry of a call that went through costs no new-request token.
  const earlier = key === undefined ? undefined : await replay(ctx, caller, key);
  if (earlier !== undefined) return earlier;
  // Not audited one by one: under a flood that would be the write the limit is there to stop.
  await ctx.limits?.assertCanCreateRequest(caller.user.id);
  if (input.rerunOf !== undefined) {
    const rerunOf = input.rerunOf;
    await findRerunnable(ctx, caller, rerunOf).catch((err: unknown) =>
      err instanceof DbwardError ? deny(err, { rerun_of: rerunOf }) : Promise.reject(err),
    );
  }
  const config = ctx.config();
  const schema = await findSchemaContext(ctx.store, input.database, input.environment);
  const plan = planRequest(config, input, schema?.tables);
  const where = {
    database: input.database,
    environment: input.environment,
    sql_sha256: sha256Hex(input.sql),
  };
  if (!plan.ok) {
    const findings = plan.review?.findings.filter((f) => f.severity === "block") ?? [];
    const error = new DbwardError(plan.code, plan.message, findings.length > 0 ? { findings } : undefined);
    if (plan.code === "request.invalid") throw error;
    return deny(error, where);
  }
  if (awaitsDryRunCount(plan.workflow, plan.operation)) {
    // The guard's bound is the dry run's count: without a dry run it could never be signed.
    const target = { database: input.database, environment: input.environment, operation: plan.operation };
    if (!wantedPreflights(config, target).includes("dry_run"))
      return deny(
        new DbwardError(
          "request.no_workflow",
          `workflow ${plan.workflow.name} bounds each write by its dry run's count, and dry runs are off for ${input.database}/${input.environment} (databases[].dry_run); an operator must turn them on, or give this target another workflow`,
        ),
        where,
      );
    if (input.breakGlass !== undefined)
      return deny(
        new DbwardError(
          "auth.forbidden",
          `workflow ${plan.workflow.name} bounds each write by its dry run's count, which break-glass cannot wait for; ask its approvers instead`,
        ),
        where,
      );
  }
  if (
    input.breakGlass !== undefined &&
    !caller.user.roles.some((r) => plan.workflow.break_glass_roles.includes(r))
  ) {
    return deny(
      new DbwardError(
        "auth.forbidden",
        `workflow ${plan.workflow.name} does not allow your roles to break the glass`,
      ),
      where,
    );
  }
  const now = ctx.clock.now();
  const changeOf = (r: RequestRecord): RequestChange => ({
    requestId: r.id,
    action: input.breakGlass !== undefined ? "request.break_glass" : "request.created",
    actor,
  });
  const created = await inTransaction(ctx.store, async (tx) => {
    // Again inside the write: an operator's retry may have moved a lost original meanwhile.
    if (input.rerunOf !== undefined) assertRerunnable(caller, await findRequestOrThrow(tx, input.rerunOf));
    const id = await insertRequest(tx, {
      requester: caller.user.id,
      database: input.database,
      environment: input.environment,
      operation: plan.operation,
      sql: input.sql,
      sqlSha256: where.sql_sha256,
      reason: input.reason,
      review: plan.review,
      workflow: plan.workflow,
      limits: plan.limits,
      breakGlassReason: input.breakGlass ?? null,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + config.execution.pending_ttl_ms).toISOString(),
      rerunOf: input.rerunOf ?? null,
    });
    if (key !== undefined) {
      const record = { requester: caller.user.id, ...key, requestId: id, createdAt: now.toISOString() };
      if (!(await storeIdempotencyKey(tx, record, now))) throw new KeyTakenMeanwhile();
    }
    const details = {
      ...where,
      operation: plan.operation,
      risk: plan.review.risk,
      workflow: plan.workflow.name,
      via: caller.via,
      ...(input.rerunOf !== undefined ? { rerun_of: input.rerunOf } : {}),
    };
    await appendAudit(
      tx,
      { actor, action: "request.created", target: `request:${id}`, outcome: "success", details },
      now,
    );
    let request = await findRequestOrThrow(tx, id);
    if (input.breakGlass !== undefined) {
      request = await applyTransition(tx, request, {
        event: "break_glass",
        actor,
        action: "request.break_glass",
        now,
        statusReason: `break-glass: ${input.breakGlass}`,
        details: { reason: input.breakGlass },
      });
    } else if (plan.autoApproved) {
      request = await applyTransition(tx, request, {
        event: "auto_approve",
        actor: "system",
        action: "request.auto_approved",
        now,
        details: { workflow: plan.workflow.name, risk: plan.review.risk },
      });
    }
    if (request.status === "approved") {
      // Break-glass is its requester saying "run it now": a by_requester workflow has its answer.
      if (input.breakGlass !== undefined && request.workflow.run === "by_requester") {
        const runRequestedAt = now.toISOString();
        await setRunSchedule(tx, id, { runRequestedAt });
        request = { ...request, runRequestedAt };
      }
      request = await dispatchWhenReady(tx, request, now);
    }
    if (request.status === "pending_approval")
      for (const kind of wantedPreflights(config, request))
        await insertPreflight(tx, id, kind, now.toISOString());
    await ctx.recordChange(tx, changeOf(request));
    return request;
  }).catch((err: unknown) => {
    if (err instanceof KeyTakenMeanwhile) return undefined;
    throw err;
  });
  if (created === undefined) return raceWinner(ctx, caller, key);
  ctx.afterCommit(changeOf(created));
  // A dispatched request, or a preflight wanted for a pending one: a long-polling agent hears of it now.
  if (
    created.status === "dispatched" ||
    (created.status === "pending_approval" && wantedPreflights(config, created).length > 0)
  )
    ctx.jobs.notify();
  return { request: created, replayed: false };
}

/**
 * What approvers get an agent to find out about this request before they decide: a plan of a
 * read or write (a DDL has none to show) on engines with EXPLAIN's JSON format, unless the
 * database's config turns it off; a dry run's count of a write's rows where the database's
 * config turns it on for the environment (PostgreSQL and MySQL/MariaDB, bot-config.ts).
 */
function wantedPreflights(
  config: BotConfig,
  r: Pick<RequestRecord, "database" | "environment" | "operation">,
): PreflightKind[] {
  const db = config.databases.find((d) => d.name === r.database);
  if (db === undefined || r.operation === "ddl" || db.dialect === "sqlite") return [];
  const kinds: PreflightKind[] = [];
  if (db.explain !== false) kinds.push("explain");
  const dryRun = db.dry_run === true || (Array.isArray(db.dry_run) && db.dry_run.includes(r.environment));
  if (r.operation === "write" && dryRun) kinds.push("dry_run");
  return kinds;
}

/** The call that stored the key first, while this one planned its request. */
async function raceWinner(
  ctx: BotContext,
  caller: UserCaller,
  key: KeyedBody | undefined,
): Promise<CreatedRequest> {
  const winner = key === undefined ? undefined : await replay(ctx, caller, key);
  if (winner === undefined) throw new Error("an idempotency key stored by a racing call is gone");
  return winner;
}

/**
 * The request the caller's live key already names, or undefined when the key is unused. The
 * same key with another body is refused: the key names one request, never two.
 */
async function replay(
  ctx: BotContext,
  caller: UserCaller,
  key: KeyedBody,
): Promise<CreatedRequest | undefined> {
  const stored = await findIdempotencyKey(ctx.store, caller.user.id, key.key, ctx.clock.now());
  if (stored === undefined) return undefined;
  if (stored.bodySha256 !== key.bodySha256) {
    throw new DbwardError(
      "request.idempotency_conflict",
      `Idempotency-Key ${JSON.stringify(key.key)} was used for request #${stored.requestId} with another body; ` +
        "send that same body to get it again, or use a new key for a new request",
      { request_id: stored.requestId },
    );
  }
  return { request: await findRequestOrThrow(ctx.store, stored.requestId), replayed: true };
}

interface CreateInput {
  database: string;
  environment: string;
  sql: string;
  reason: string;
  /** The written break-glass reason, when the caller asks to skip approval. */
  breakGlass?: string;
  /** Run again: the finished request this one repeats. */
  rerunOf?: RequestId;
}

function parseCreateBody(body: Body): CreateInput {
  const problems: string[] = [];
  const database = parseDatabaseName(body.database);
  const environment = parseEnvironmentName(body.environment);
  if (database === undefined) problems.push("database: a database name is required");
  if (environment === undefined) problems.push("environment: an environment name is required");
  const sql = typeof body.sql === "string" ? body.sql : "";
  if (sql.trim() === "") problems.push("sql: the SQL text is required");
  else if (Buffer.byteLength(sql) > MAX_SQL_BYTES) problems.push(`sql: longer than ${MAX_SQL_BYTES} bytes`);
  const reason = typeof body.reason === "string" ? body.reason.trim() : "";
  if (reason === "") problems.push("reason: say why this needs to run");
  else if (reason.length > MAX_REASON_LENGTH)
    problems.push(`reason: longer than ${MAX_REASON_LENGTH} characters`);
  const wantsBreakGlass = body.break_glass === true;
  const glassReason = typeof body.break_glass_reason === "string" ? body.break_glass_reason.trim() : "";
  if (body.break_glass !== undefined && typeof body.break_glass !== "boolean")
    problems.push("break_glass: must be true or false");
  if (wantsBreakGlass && glassReason.length < MIN_BREAK_GLASS_REASON) {
    problems.push(
      `break_glass_reason: breaking the glass needs a written reason of at least ${MIN_BREAK_GLASS_REASON} characters`,
    );
  }
  const rerunOf = body.rerun_of === undefined ? undefined : parseRequestId(body.rerun_of);
  if (body.rerun_of !== undefined && (rerunOf === undefined || typeof body.rerun_of !== "number"))
    problems.push("rerun_of: the id (a number) of the finished request this one runs again");
  if (problems.length > 0 || database === undefined || environment === undefined) {
    throw new DbwardError("request.invalid", problems.join("; "), { problems });
  }
  return {
    database,
    environment,
    sql,
    reason,
    ...(wantsBreakGlass ? { breakGlass: glassReason } : {}),
    ...(rerunOf !== undefined ? { rerunOf } : {}),
  };
}
