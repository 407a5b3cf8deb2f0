/**
 * An agent's long poll: record what it says it can run, then answer as soon as a request it can
 * run is dispatched or a plan it can make is wanted (JobSignal), or when the wait runs out. An agent is only ever offered jobs
 * inside its declared capabilities (SECURITY.md: fake agent).
 */
import {
  DbwardError,
  MAX_POLL_WAIT_MS,
  OPERATION_CLASSES,
  PREFLIGHT_KINDS,
  type AgentCapability,
  type DegradedDatabase,
  type JobOffer,
  type PollResponse,
  type PreflightKind,
  type PreflightOffer,
} from "@dbward/shared";
import { saveAgentPoll } from "../store/agents-repo.ts";
import { listOfferablePreflights } from "../store/preflights-repo.ts";
import { dispatchReadiness } from "../core/run-schedule.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { listExecutions, listOfferableRequests, type RequestRecord } from "../store/requests-repo.ts";
import { applyTransition } from "./apply-transition.ts";
import type { BotContext } from "./bot-context.ts";
import { capabilityAllows, parseCapabilities } from "./agent-capabilities.ts";
import { findRequestOrThrow } from "./find-request-or-throw.ts";
import { holdAgentSession, parseSessionId } from "./hold-agent-session.ts";

const MAX_OFFERS = 10;
/** Re-check the store at least this often, for work dispatched by another bot instance. */
const RECHECK_MS = 1000;

export async function pollJobs(
  ctx: BotContext,
  agentId: string,
  body: {
    capabilities?: unknown;
    wait_ms?: unknown;
    degraded?: unknown;
    session?: unknown;
    preflights?: unknown;
  },
  signal?: AbortSignal,
): Promise<PollResponse> {
  const caps = parseCapabilities(body.capabilities);
  const wait =
    typeof body.wait_ms === "number" && Number.isFinite(body.wait_ms)
      ? Math.max(0, Math.min(body.wait_ms, MAX_POLL_WAIT_MS))
      : 0;
  const session = parseSessionId(body.session);
  // Before anything is recorded: a refused second process must not overwrite the holder's capabilities.
  if (session !== undefined) await holdAgentSession(ctx, agentId, session);
  await saveAgentPoll(ctx.store, agentId, ctx.clock.now().toISOString(), caps, parseDegraded(body.degraded));
  const deadline = ctx.clock.now().getTime() + wait;
  for (;;) {
    if (signal?.aborted === true) return { jobs: [] };
    const jobs = await findOffers(ctx, caps);
    const preflights = await findPreflightOffers(ctx, caps, parsePreflightKinds(body.preflights));
    const answer = preflights.length > 0 ? { jobs, preflights } : { jobs };
    const remaining = deadline - ctx.clock.now().getTime();
    if (jobs.length > 0 || preflights.length > 0 || remaining <= 0) return answer;
    await ctx.jobs.wait(Math.min(remaining, RECHECK_MS), signal);
  }
}

/** The preflight kinds the agent says it runs; anything else is ignored (none: an older agent). */
function parsePreflightKinds(raw: unknown): PreflightKind[] {
  return Array.isArray(raw) ? PREFLIGHT_KINDS.filter((k) => raw.includes(k)) : [];
}

/** Pending preflights of pending requests this agent may plan: it must be able to run the statement's class there. */
async function findPreflightOffers(
  ctx: BotContext,
  caps: AgentCapability[],
  kinds: readonly PreflightKind[],
): Promise<PreflightOffer[]> {
  if (kinds.length === 0) return [];
  const rows = await listOfferablePreflights(ctx.store, caps, kinds, 200);
  const offers: PreflightOffer[] = [];
  for (const row of rows) {
    const kind = kinds.find((k) => k === row.kind);
    const operation = OPERATION_CLASSES.find((o) => o === row.operation);
    if (kind === undefined || operation === undefined) continue;
    if (!capabilityAllows(caps, row.database, row.environment, operation)) continue;
    offers.push({
      preflight_id: row.id,
      request_id: row.requestId,
      kind,
      database: row.database,
      environment: row.environment,
      operation,
    });
    if (offers.length >= MAX_OFFERS) break;
  }
  return offers;
}

/**
 * The databases an agent says it cannot reach (it has left them out of its capabilities). Only
 * shown to operators; anything malformed is dropped rather than trusted.
 */
function parseDegraded(raw: unknown): DegradedDatabase[] {
  if (!Array.isArray(raw)) return [];
  const text = (v: unknown): string => (typeof v === "string" ? v.slice(0, 500) : "");
  return raw.slice(0, 100).flatMap((d: unknown) => {
    if (typeof d !== "object" || d === null) return [];
    const o = d as Record<string, unknown>;
    const entry = {
      database: text(o.database),
      environment: text(o.environment),
      error: text(o.error),
      since: text(o.since),
    };
    return entry.database === "" || entry.environment === "" ? [] : [entry];
  });
}

async function findOffers(ctx: BotContext, caps: AgentCapability[]): Promise<JobOffer[]> {
  const now = ctx.clock.now();
  const candidates = (await listOfferableRequests(ctx.store, now.toISOString(), caps, 200))
    // The store's choice, checked again by the same rules the claim and the dispatch apply.
    .filter((r) => capabilityAllows(caps, r.database, r.environment, r.operation))
    .filter((r) => r.status !== "approved" || dispatchReadiness(r, now).ready)
    .slice(0, MAX_OFFERS);
  const offers: JobOffer[] = [];
  for (const r of candidates) {
    const dispatched = r.status === "approved" ? await redispatch(ctx, r) : r;
    if (dispatched?.status !== "dispatched") continue;
    const next = (await listExecutions(ctx.store, r.id)).length + 1;
    offers.push({
      job_id: `${r.id}-${next}`,
      request_id: r.id,
      database: r.database,
      environment: r.environment,
      operation: r.operation,
    });
  }
  return offers;
}

/** An approved request that timed out waiting is offered again once a capable agent asks. */
async function redispatch(ctx: BotContext, r: RequestRecord): Promise<RequestRecord | undefined> {
  try {
    return await inTransaction(ctx.store, async (tx) => {
      const fresh = await findRequestOrThrow(tx, r.id);
      if (fresh.status !== "approved" || !dispatchReadiness(fresh, ctx.clock.now()).ready) return fresh;
      return applyTransition(tx, fresh, {
        event: "dispatch",
        actor: "system",
        action: "request.dispatched",
        now: ctx.clock.now(),
        details: { redispatch: true },
      });
    });
  } catch (err) {
    // Lost a race with a cancel or another poll: the request is simply not offered this time.
    if (err instanceof DbwardError && err.code === "request.invalid_transition") return undefined;
    throw err;
  }
}
