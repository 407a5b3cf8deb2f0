/**
 * The live polling session of each agent id: which process (named by its data directory's
 * session id) polls with it, and when it was last heard from.
 */
import type { Store } from "./open-store.ts";
import type { Tx } from "./in-transaction.ts";

export interface AgentSession {
  readonly sessionId: string;
  readonly lastSeenAt: string;
}

export async function findAgentSession(db: Store | Tx, agentId: string): Promise<AgentSession | undefined> {
  const row = await db
    .selectFrom("agent_sessions")
    .select(["session_id", "last_seen_at"])
    .where("agent_id", "=", agentId)
    .executeTakeFirst();
  return row === undefined ? undefined : { sessionId: row.session_id, lastSeenAt: row.last_seen_at };
}

/** Makes `sessionId` the agent's session, seen at `now`. */
export async function saveAgentSession(
  db: Store | Tx,
  agentId: string,
  sessionId: string,
  now: string,
): Promise<void> {
  await db
    .insertInto("agent_sessions")
    .values({ agent_id: agentId, session_id: sessionId, last_seen_at: now })
    .onConflict((oc) => oc.column("agent_id").doUpdateSet({ session_id: sessionId, last_seen_at: now }))
    .execute();
}

/** The agent's current session was heard from (a heartbeat carries no session of its own). */
export async function touchAgentSession(db: Store | Tx, agentId: string, now: string): Promise<void> {
  await db.updateTable("agent_sessions").set({ last_seen_at: now }).where("agent_id", "=", agentId).execute();
}
