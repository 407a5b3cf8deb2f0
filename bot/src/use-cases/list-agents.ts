/**
 * Which agents the bot knows and whether they are there: configured agents and every agent that
 * has ever polled, with the time it was last seen. An agent is `busy` while it holds a live
 * lease on a running job (it does not poll then, it heartbeats), `connected` when it polled
 * within `monitoring.agent_stale_after_seconds`, `stale` when it has not, and `never_seen` when
 * it is configured but has never polled.
 */
import type { AgentCapability, DegradedDatabase } from "@dbward/shared";
import { listAgentRecords } from "../store/agents-repo.ts";
import { countLiveLeasesByAgent } from "../store/executions-repo.ts";
import type { BotContext } from "./bot-context.ts";

export const AGENT_STATUSES = ["busy", "connected", "stale", "never_seen"] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

export interface AgentStatusView {
  id: string;
  /** False for an agent that polled once but is no longer in the config (it cannot log in). */
  configured: boolean;
  status: AgentStatus;
  last_seen_at: string | null;
  seconds_since_seen: number | null;
  running_jobs: number;
  capabilities: AgentCapability[];
  /** Databases the agent reported it cannot reach (it leaves their jobs to other agents). */
  degraded: DegradedDatabase[];
}

export interface AgentListView {
  agents: AgentStatusView[];
  stale_after_seconds: number;
}

export async function listAgents(
  ctx: Pick<BotContext, "store" | "config" | "clock">,
): Promise<AgentListView> {
  const now = ctx.clock.now();
  const staleAfter = ctx.config().monitoring.agent_stale_after_seconds;
  const configured = new Set(ctx.config().agents.map((a) => a.id));
  const [records, leases] = await Promise.all([
    listAgentRecords(ctx.store),
    countLiveLeasesByAgent(ctx.store, now),
  ]);
  const seen = new Map(records.map((r) => [r.id, r]));
  const ids = [...new Set([...configured, ...seen.keys()])].sort();
  const agents = ids.map((id): AgentStatusView => {
    const agent = seen.get(id);
    const running = leases.get(id) ?? 0;
    const since =
      agent === undefined ? null : Math.max(0, (now.getTime() - Date.parse(agent.lastSeenAt)) / 1000);
    const status: AgentStatus =
      running > 0 ? "busy" : since === null ? "never_seen" : since <= staleAfter ? "connected" : "stale";
    return {
      id,
      configured: configured.has(id),
      status,
      last_seen_at: agent?.lastSeenAt ?? null,
      seconds_since_seen: since === null ? null : Math.floor(since),
      running_jobs: running,
      capabilities: agent?.capabilities ?? [],
      degraded: agent?.degraded ?? [],
    };
  });
  return { agents, stale_after_seconds: staleAfter };
}
