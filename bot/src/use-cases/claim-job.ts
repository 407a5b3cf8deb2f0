/**
 * An agent claims a dispatched request. Exactly one claim wins (compare-and-set on `dispatched`
 * inside an IMMEDIATE transaction); the winner gets the SQL and a token signed for it alone,
 * bound to the SQL's hash, the database, environment and operation, for at most five minutes.
 * A claim over the execution policy's `max_executions` budget fails the request in the same
 * transaction (it leaves the dispatch queue, the requester is told) and answers
 * `execution.limit_reached`. A claim from a session that is not the agent id's live one is refused
 * first (hold-agent-session.ts), so a second process with the same id cannot take a job.
 */
import { DbwardError, parseRequestId, type ClaimResponse, type RequestId } from "@dbward/shared";
import { rowBound } from "../core/row-bounds.ts";
import { findAgentCapabilities } from "../store/agents-repo.ts";
import { countExecutionsClaimedSince, insertExecution } from "../store/executions-repo.ts";
import { inTransaction, type Tx } from "../store/in-transaction.ts";
import { dryRunCountOf, findPreflight, preflightId } from "../store/preflights-repo.ts";
import { listExecutions, type RequestRecord } from "../store/requests-repo.ts";
import { capabilityAllows } from "./agent-capabilities.ts";
import { applyTransition } from "./apply-transition.ts";
import type { BotContext, RequestChange } from "./bot-context.ts";
import { findRequestOrThrow } from "./find-request-or-throw.ts";
import { holdAgentSession, parseSessionId } from "./hold-agent-session.ts";
import { requestMasks } from "./request-masks.ts";
import { signRequestToken } from "./sign-request-token.ts";

export const HEARTBEAT_INTERVAL_MS = 5000;

export function parseJobId(jobId: string): { requestId: RequestId; number: number } {
  const m = /^([1-9][0-9]{0,14})-([1-9][0-9]{0,5})$/.exec(jobId);
  const requestId = parseRequestId(m?.[1]);
  if (m?.[2] === undefined || requestId === undefined)
    throw new DbwardError("job.not_found", `no job ${jobId}`);
  return { requestId, number: Number(m[2]) };
}

export async function claimJob(
  ctx: BotContext,
  agentId: string,
  jobId: string,
  rawSession?: unknown,
): Promise<ClaimResponse> {
  const { requestId, number } = parseJobId(jobId);
  const session = parseSessionId(rawSession);
  if (session !== undefined) await holdAgentSession(ctx, agentId, session);
  const exec = ctx.config().execution;
  // `request.finished` is the change the requester hears about; the status reason says why.
  const refusedChange: RequestChange = { requestId, action: "request.finished", actor: `agent:${agentId}` };
  const claimedChange: RequestChange = { requestId, action: "request.claimed", actor: `agent:${agentId}` };
  type Outcome =
    | { readonly refused: string; readonly code: "execution.row_guard" | "execution.limit_reached" }
    | { readonly claim: ClaimResponse };
  const claimed = await inTransaction(ctx.store, async (tx): Promise<Outcome> => {
    const request = await findRequestOrThrow(tx, requestId);
    const caps = await findAgentCapabilities(tx, agentId);
    if (!capabilityAllows(caps, request.database, request.environment, request.operation)) {
      throw new DbwardError(
        "auth.forbidden",
        `agent ${agentId} has not declared ${request.operation} on ${request.database}/${request.environment}`,
      );
    }
    if (request.status !== "dispatched" || (await listExecutions(tx, request.id)).length + 1 !== number) {
      throw new DbwardError("request.invalid_transition", `job ${jobId} is no longer available`);
    }
    const now = ctx.clock.now();
    const bound = rowBound(request.workflow, request.operation, await dryRunCount(tx, request));
    if (!bound.ok) {
      // Fail closed: a write its workflow bounds by a count nobody made is never signed.
      await applyTransition(tx, request, {
        event: "refuse_unbounded",
        actor: `agent:${agentId}`,
        action: "request.failed",
        now,
        statusReason: bound.reason,
        outcome: "failure",
        details: { code: "execution.row_guard", execution: number },
      });
      await ctx.recordChange(tx, refusedChange);
      return { refused: bound.reason, code: "execution.row_guard" } as const;
    }
    const overBudget = await budgetRefusal(tx, request, now);
    if (overBudget !== undefined) {
      await applyTransition(tx, request, {
        event: "exhaust_budget",
        actor: `agent:${agentId}`,
        action: "request.failed",
        now,
        statusReason: overBudget,
        outcome: "failure",
        details: { code: "execution.limit_reached", execution: number },
      });
      await ctx.recordChange(tx, refusedChange);
      return { refused: overBudget, code: "execution.limit_reached" } as const;
    }
    const tokenId = ctx.random.secret(16);
    const token = await signRequestToken(ctx.signingKey, request, {
      tokenId,
      agentId,
      now,
      execution: number,
      purpose: "execute",
      // The approvers saw this bound with the request; signed, so only the token carries it.
      maxRows: bound.maxRows,
      masks: await requestMasks(tx, ctx.config(), request),
    });
    const leaseExpiresAt = new Date(now.getTime() + exec.lease_margin_ms).toISOString();
    await insertExecution(tx, {
      id: jobId,
      requestId: request.id,
      number,
      agentId,
      tokenId,
      claimedAt: now.toISOString(),
      leaseExpiresAt,
    });
    await applyTransition(tx, request, {
      event: "claim",
      actor: `agent:${agentId}`,
      action: "request.claimed",
      now,
      details: { execution: number, token_id: tokenId, key_id: ctx.signingKey.kid },
    });
    const claim: ClaimResponse = {
      job_id: jobId,
      request_id: request.id,
      execution: number,
      token,
      sql: request.sql,
      database: request.database,
      environment: request.environment,
      operation: request.operation,
      lease_expires_at: leaseExpiresAt,
      heartbeat_interval_ms: HEARTBEAT_INTERVAL_MS,
      statement_timeout_ms: request.limits.statement_timeout_ms,
      row_cap: request.limits.row_cap,
      result_max_bytes: request.limits.result_max_bytes ?? exec.result_max_bytes,
    };
    await ctx.recordChange(tx, claimedChange);
    return { claim } as const;
  });
  if ("refused" in claimed) {
    ctx.afterCommit(refusedChange);
    throw new DbwardError(claimed.code, claimed.refused);
  }
  ctx.afterCommit(claimedChange);
  return claimed.claim;
}

/** The rows the request's dry run changed before it was rolled back, when it counted them. */
async function dryRunCount(tx: Tx, request: RequestRecord): Promise<number | undefined> {
  const dry = await findPreflight(tx, preflightId(request.id, "dry_run"));
  return dryRunCountOf(dry === undefined ? [] : [dry]);
}

/**
 * The execution policy's budget: at most `count` executions on this database × environment per
 * window. Returns why this claim is over it, or undefined when it may run.
 */
async function budgetRefusal(tx: Tx, request: RequestRecord, now: Date): Promise<string | undefined> {
  const budget = request.limits.max_executions;
  if (budget === null) return undefined;
  const since = new Date(now.getTime() - budget.window_minutes * 60_000).toISOString();
  if ((await countExecutionsClaimedSince(tx, request, since)) < budget.count) return undefined;
  return `execution limit reached: ${request.database}/${request.environment} allows ${budget.count} executions per ${budget.window_minutes} minutes; make the request again later`;
}
