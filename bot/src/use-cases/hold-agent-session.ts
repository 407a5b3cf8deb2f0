/**
 * One agent id, one live process. An agent names its session after its data directory (where its
 * ledger of executed tokens lives) and sends it with every poll, claim, heartbeat and result; a
 * call from another session while the holder was heard from within SESSION_LIVE_MS is refused
 * with `agent.session_conflict`, so two processes sharing an id cannot both be offered, claim,
 * keep alive or report jobs with ledgers that do not know of each other. A restart on the
 * same data directory keeps its session and is never refused; a holder gone quiet for the window
 * (stopped, crashed, or its data directory lost) hands over to the next session that polls.
 */
import { DbwardError, MAX_POLL_WAIT_MS } from "@dbward/shared";
import { findAgentSession, saveAgentSession, touchAgentSession } from "../store/agent-sessions-repo.ts";
import { inTransaction } from "../store/in-transaction.ts";
import type { BotContext } from "./bot-context.ts";

/** A holder polls at least every long-poll wait and heartbeats every few seconds while it runs a job. */
export const SESSION_LIVE_MS = MAX_POLL_WAIT_MS + 30_000;

/** Undefined for an agent that names no session (older than sessions): it is not checked. */
export function parseSessionId(raw: unknown): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== "string" || !/^[A-Za-z0-9_-]{16,64}$/.test(raw))
    throw new DbwardError("request.invalid", "session must be 16 to 64 letters, digits, '-' or '_'");
  return raw;
}

export async function holdAgentSession(ctx: BotContext, agentId: string, sessionId: string): Promise<void> {
  const now = ctx.clock.now();
  await inTransaction(ctx.store, async (tx) => {
    const held = await findAgentSession(tx, agentId);
    if (
      held !== undefined &&
      held.sessionId !== sessionId &&
      now.getTime() - Date.parse(held.lastSeenAt) < SESSION_LIVE_MS
    ) {
      throw new DbwardError(
        "agent.session_conflict",
        `agent ${agentId} is already in use by another process (another data directory, last seen ${held.lastSeenAt}); stop one of them, or give each its own agent id and token`,
      );
    }
    await saveAgentSession(tx, agentId, sessionId, now.toISOString());
  });
}

/** A heartbeat keeps the agent's current session live while it runs a job and does not poll. */
export async function touchHeldSession(ctx: BotContext, agentId: string): Promise<void> {
  await touchAgentSession(ctx.store, agentId, ctx.clock.now().toISOString());
}
