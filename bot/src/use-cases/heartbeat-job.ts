/**
 * An agent's heartbeat extends its lease while the query runs, and carries cancellation back.
 * A heartbeat never extends the lease past the statement timeout plus the margin: a query the
 * agent should have stopped cannot keep its lease by heartbeating. Result chunks arriving
 * (submit-result-chunk.ts) are progress and extend it further; a heartbeat never shortens that.
 * A heartbeat from a session that is not the agent id's live one is refused before anything
 * else (agent.session_conflict): a second process cannot keep the first one's job alive.
 */
import { DbwardError, type HeartbeatResponse, type RequestId } from "@dbward/shared";
import { setRunningLease } from "../store/executions-repo.ts";
import type { ExecutionRecord } from "../store/requests-repo.ts";
import { findExecution, findRequest } from "../store/requests-repo.ts";
import type { BotContext } from "./bot-context.ts";
import { holdAgentSession, parseSessionId, touchHeldSession } from "./hold-agent-session.ts";

export async function heartbeatJob(
  ctx: BotContext,
  agentId: string,
  jobId: string,
  rawSession?: unknown,
): Promise<HeartbeatResponse> {
  const session = parseSessionId(rawSession);
  if (session !== undefined) await holdAgentSession(ctx, agentId, session);
  const exe = await findOwnExecution(ctx, agentId, jobId);
  if (exe.status !== "running")
    throw new DbwardError("job.lease_lost", `job ${jobId} is ${exe.status}; stop working on it`);
  const request = await findRequest(ctx.store, exe.request_id as RequestId);
  const cancel = exe.cancel_requested === 1 || request?.status === "cancelled";
  const { lease_margin_ms } = ctx.config().execution;
  const statement_timeout_ms =
    request?.limits.statement_timeout_ms ?? ctx.config().execution.statement_timeout_ms;
  const now = ctx.clock.now().getTime();
  const ceiling = Date.parse(exe.claimed_at) + statement_timeout_ms + lease_margin_ms;
  // Never shorter than a lease that result chunks (progress) extended past the ceiling.
  const lease = new Date(
    Math.max(Date.parse(exe.lease_expires_at), Math.min(now + lease_margin_ms, ceiling)),
  ).toISOString();
  if (!(await setRunningLease(ctx.store, jobId, lease)))
    throw new DbwardError("job.lease_lost", `job ${jobId} lost its lease`);
  // An agent without sessions keeps whatever session is held live, as before.
  if (session === undefined) await touchHeldSession(ctx, agentId);
  return { lease_expires_at: lease, cancel };
}

/** The execution, if this agent holds it; another agent's job looks like no job at all. */
export async function findOwnExecution(
  ctx: BotContext,
  agentId: string,
  jobId: string,
): Promise<ExecutionRecord> {
  const exe = await findExecution(ctx.store, jobId);
  if (exe === undefined || exe.agent_id !== agentId)
    throw new DbwardError("job.not_found", `no job ${jobId} for this agent`);
  return exe;
}
