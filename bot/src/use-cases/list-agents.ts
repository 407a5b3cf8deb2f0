/**
 * Which agents the bot knows and whether they are there: configured agents and every agent that
 * has ever polled, with the time it was last seen. An agent is `busy` while it holds a live
 * lease on a running job (it does not poll then, it heartbeats), `connected` when it polled
 * within `monitoring.agent_stale_after_seconds`, `stale` when it has not, and `never_seen` when
 * it is configured but has never polled.
 */
import type { AgentCapability, DegradedDatabase } from "@dbward/shared";
import type { Store } from "../store/open-store.ts";
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
  const [rows, leases] = await Promise.all([readAgents(ctx.store), liveLeases(ctx.store, now)]);
  const seen = new Map(rows.map((r) => [r.id, r]));
  const ids = [...new Set([...configured, ...seen.keys()])].sort();
  const agents = ids.map((id): AgentStatusView => {
    const row = seen.get(id);
    const running = leases.get(id) ?? 0;
    const since =
      row === undefined ? null : Math.max(0, (now.getTime() - Date.parse(row.last_seen_at)) / 1000);
    const status: AgentStatus =
      running > 0 ? "busy" : since === null ? "never_seen" : since <= staleAfter ? "connected" : "stale";
    return {
      id,
      configured: configured.has(id),
      status,
      last_seen_at: row?.last_seen_at ?? null,
      seconds_since_seen: since === null ? null : Math.floor(since),
      running_jobs: running,
      capabilities: row === undefined ? [] : parseStoredCapabilities(row.capabilities_json),
      degraded: parseStoredDegraded(row?.degraded_json ?? null),
    };
  });
  return { agents, stale_after_seconds: staleAfter };
}

async function readAgents(store: Store) {
  return store
    .selectFrom("agents")
    .select(["id", "last_seen_at", "capabilities_json", "degraded_json"])
    .execute();
}

/** Running executions whose lease has not run out, per agent. */
async function liveLeases(store: Store, now: Date): Promise<Map<string, number>> {
  const rows = await store
    .selectFrom("executions")
    .select(["agent_id", (eb) => eb.fn.countAll<number>().as("n")])
    .where("status", "=", "running")
    .where("lease_expires_at", ">", now.toISOString())
    .groupBy("agent_id")
    .execute();
  return new Map(rows.map((r) => [r.agent_id, Number(r.n)]));
}

/** Written by poll-jobs.ts from already-validated capabilities; anything else reads as none. */
function parseStoredCapabilities(json: string): AgentCapability[] {
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? (value as AgentCapability[]) : [];
  } catch {
    return [];
  }
}

/** Written by poll-jobs.ts from already-validated entries; anything else reads as none. */
function parseStoredDegraded(json: string | null): DegradedDatabase[] {
  if (json === null) return [];
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? (value as DegradedDatabase[]) : [];
  } catch {
    return [];
  }
}
