/**
 * Routes for the people and machines that run the bot: `/metrics` (Prometheus), `/ready`
 * (readiness: the store answers and no migration is pending) and `/api/agents`.
 * `/health` (liveness: the process answers) stays in routes-admin.ts.
 */
import { Router } from "express";
import { sql } from "kysely";
import type { Logger } from "pino";
import type { BotMetrics } from "../metrics/bot-metrics.ts";
import { SCHEMA_VERSION } from "../store/open-store.ts";
import type { BotContext } from "../use-cases/bot-context.ts";
import { listAgents } from "../use-cases/list-agents.ts";
import { authenticateMonitoring, type MonitoringToken } from "./monitoring-auth.ts";

export interface OpsRouteDeps {
  readonly metrics: BotMetrics;
  readonly monitoringToken: MonitoringToken | undefined;
  /** Gets why readiness failed; the answer itself names only the failed check. */
  readonly logger?: Pick<Logger, "error">;
}

export type Readiness =
  | { readonly ready: true; readonly schema_version: number }
  | {
      readonly ready: false;
      readonly reason: "store_unreachable" | "migrations_pending";
      readonly message: string;
    };

export async function checkReadiness(
  ctx: Pick<BotContext, "store">,
  onError?: (err: unknown) => void,
): Promise<Readiness> {
  let version: number;
  try {
    const row = await sql<{ v: number | null }>`select max(version) as v from schema_version`.execute(
      ctx.store,
    );
    version = Number(row.rows[0]?.v ?? 0);
  } catch (err) {
    onError?.(err);
    return { ready: false, reason: "store_unreachable", message: "the state store cannot be read" };
  }
  if (version < SCHEMA_VERSION) {
    return {
      ready: false,
      reason: "migrations_pending",
      message: `the state store is at schema version ${version}; this bot needs ${SCHEMA_VERSION}`,
    };
  }
  return { ready: true, schema_version: version };
}

export function opsRoutes(ctx: BotContext, deps: OpsRouteDeps): Router {
  const r = Router();
  r.get("/ready", async (_req, res) => {
    const readiness = await checkReadiness(ctx, (err) => deps.logger?.error({ err }, "not ready"));
    if (readiness.ready) res.json({ status: "ready" });
    else res.status(503).json({ status: "not_ready", reason: readiness.reason, message: readiness.message });
  });
  r.get("/metrics", async (req, res) => {
    await authenticateMonitoring(ctx, req, deps.monitoringToken);
    const body = await deps.metrics.render();
    res.set("content-type", deps.metrics.contentType).send(body);
  });
  r.get("/api/agents", async (req, res) => {
    await authenticateMonitoring(ctx, req, deps.monitoringToken);
    res.json(await listAgents(ctx));
  });
  return r;
}
