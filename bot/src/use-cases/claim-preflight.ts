/**
 * An agent claims a preflight: an EXPLAIN, or a dry run (the write run and always rolled back, to
 * count its rows). One claim wins (compare-and-set on `pending`); the winner gets the SQL and a
 * token signed for the preflight's kind alone (`purpose: "explain"` or `"dry_run"`) — bound to the
 * SQL's hash, database, environment and operation like an execution token, and refused by every
 * agent as an execution token or for the other kind (token.purpose_mismatch). Only while the
 * request still waits for approval, and only to an agent that declared the statement's class there.
 */
import { DbwardError, type PreflightClaimResponse } from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import { findAgentCapabilities } from "../store/agents-repo.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { claimPreflightRow, findPreflight } from "../store/preflights-repo.ts";
import { capabilityAllows } from "./agent-capabilities.ts";
import type { BotContext } from "./bot-context.ts";
import { findRequestOrThrow } from "./find-request-or-throw.ts";
import { holdAgentSession, parseSessionId } from "./hold-agent-session.ts";
import { requestMasks } from "./request-masks.ts";
import { signRequestToken } from "./sign-request-token.ts";

/** How long an agent has to report a plan past its statement timeout before the claim lapses. */
export const PREFLIGHT_LEASE_MARGIN_MS = 30_000;

export async function claimPreflight(
  ctx: BotContext,
  agentId: string,
  preflightId: string,
  rawSession?: unknown,
): Promise<PreflightClaimResponse> {
  const session = parseSessionId(rawSession);
  if (session !== undefined) await holdAgentSession(ctx, agentId, session);
  return inTransaction(ctx.store, async (tx) => {
    const preflight = await findPreflight(tx, preflightId);
    if (preflight === undefined) throw new DbwardError("job.not_found", `no preflight ${preflightId}`);
    const request = await findRequestOrThrow(tx, preflight.requestId);
    const caps = await findAgentCapabilities(tx, agentId);
    if (!capabilityAllows(caps, request.database, request.environment, request.operation)) {
      throw new DbwardError(
        "auth.forbidden",
        `agent ${agentId} has not declared ${request.operation} on ${request.database}/${request.environment}`,
      );
    }
    if (request.status !== "pending_approval")
      throw new DbwardError("request.invalid_transition", `preflight ${preflightId} is no longer wanted`);
    const now = ctx.clock.now();
    const tokenId = ctx.random.secret(16);
    const leaseExpiresAt = new Date(
      now.getTime() + request.limits.statement_timeout_ms + PREFLIGHT_LEASE_MARGIN_MS,
    ).toISOString();
    const won = await claimPreflightRow(tx, preflightId, {
      agentId,
      tokenId,
      claimedAt: now.toISOString(),
      leaseExpiresAt,
    });
    if (!won)
      throw new DbwardError("request.invalid_transition", `preflight ${preflightId} is no longer available`);
    const token = await signRequestToken(ctx.signingKey, request, {
      tokenId,
      agentId,
      now,
      execution: 0, // no execution: a preflight never runs the statement
      purpose: preflight.kind,
      maxRows: null,
      // A dry run's failure can quote masked values: the agent withholds it when masks are signed.
      masks: await requestMasks(tx, ctx.config(), request),
    });
    await appendAudit(
      tx,
      {
        actor: `agent:${agentId}`,
        action: "request.preflight_claimed",
        target: `request:${request.id}`,
        outcome: "success",
        details: { kind: preflight.kind, token_id: tokenId, key_id: ctx.signingKey.kid },
      },
      now,
    );
    return {
      preflight_id: preflightId,
      request_id: request.id,
      kind: preflight.kind,
      token,
      sql: request.sql,
      database: request.database,
      environment: request.environment,
      operation: request.operation,
      statement_timeout_ms: request.limits.statement_timeout_ms,
    };
  });
}
