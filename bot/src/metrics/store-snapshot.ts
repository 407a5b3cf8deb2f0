/**
 * The numbers the metrics read from the state store at scrape time rather than count in memory:
 * they stay right across restarts and agree between several bot instances on one store. Every
 * query is a grouped count over an indexed column or a single-row lookup.
 */
import { REQUEST_STATUSES } from "@dbward/shared";
import { outboxStats, type OutboxStats } from "../store/slack-outbox-repo.ts";
import type { BotContext } from "../use-cases/bot-context.ts";
import { AGENT_STATUSES, listAgents, type AgentStatus } from "../use-cases/list-agents.ts";

export const EXECUTION_STATUSES = [
  "running",
  "succeeded",
  "failed",
  "timed_out",
  "lost",
  "cancelled",
] as const;

export interface StoreSnapshot {
  readonly requests: ReadonlyMap<string, number>;
  readonly executions: ReadonlyMap<string, number>;
  /** Requests waiting for an agent: approved plus dispatched. */
  readonly queueDepth: number;
  /** Configured agents by status. */
  readonly agents: ReadonlyMap<AgentStatus, number>;
  /** Sequence number of the newest audit event (0 for an empty chain). */
  readonly auditHead: number;
  /** The Slack outbox: rows waiting, rows given up on, and how old the oldest waiting one is. */
  readonly slackOutbox: OutboxStats;
}

type Ctx = Pick<BotContext, "store" | "config" | "clock">;

export async function readStoreSnapshot(ctx: Ctx): Promise<StoreSnapshot> {
  const [requests, executions, head, agentList, slackOutbox] = await Promise.all([
    countBy(ctx, "requests", REQUEST_STATUSES),
    countBy(ctx, "executions", EXECUTION_STATUSES),
    ctx.store
      .selectFrom("audit_events")
      .select((eb) => eb.fn.max("seq").as("seq"))
      .executeTakeFirst(),
    listAgents(ctx),
    outboxStats(ctx.store),
  ]);
  const agents = new Map<AgentStatus, number>(AGENT_STATUSES.map((s) => [s, 0]));
  for (const a of agentList.agents) if (a.configured) agents.set(a.status, (agents.get(a.status) ?? 0) + 1);
  return {
    requests,
    executions,
    queueDepth: (requests.get("approved") ?? 0) + (requests.get("dispatched") ?? 0),
    agents,
    auditHead: Number(head?.seq ?? 0),
    slackOutbox,
  };
}

async function countBy(
  ctx: Ctx,
  table: "requests" | "executions",
  statuses: readonly string[],
): Promise<Map<string, number>> {
  const rows = await ctx.store
    .selectFrom(table)
    .select(["status", (eb) => eb.fn.countAll<number>().as("n")])
    .groupBy("status")
    .execute();
  const counts = new Map(statuses.map((s) => [s, 0]));
  for (const r of rows) counts.set(r.status, Number(r.n));
  return counts;
}
