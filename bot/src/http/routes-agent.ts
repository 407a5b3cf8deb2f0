/**
 * Agent routes: poll, claim, heartbeat, result, and a preflight's claim and plan. Only agent tokens reach these, and each call's
 * `session` is checked against the agent id's live one (hold-agent-session.ts).
 */
import { Router } from "express";
import type { BotContext } from "../use-cases/bot-context.ts";
import { claimJob } from "../use-cases/claim-job.ts";
import { claimPreflight } from "../use-cases/claim-preflight.ts";
import { findOwnPreflight, submitPreflight } from "../use-cases/submit-preflight.ts";
import { findOwnExecution, heartbeatJob } from "../use-cases/heartbeat-job.ts";
import { pollJobs } from "../use-cases/poll-jobs.ts";
import { submitResult } from "../use-cases/submit-result.ts";
import { submitSchema } from "../use-cases/submit-schema.ts";
import { authenticateAgent } from "./authenticate.ts";
import { BODY_LIMITS } from "./body-limits.ts";
import { BODY_SHAPES, knownFieldsOf } from "./body-shapes.ts";
import { readJsonBody } from "./read-body.ts";
import { bodyOf } from "./routes-requests.ts";

export function agentRoutes(ctx: BotContext): Router {
  const r = Router();
  r.post("/api/agent/poll", async (req, res) => {
    const agentId = await authenticateAgent(ctx, req);
    const gone = new AbortController();
    res.on("close", () => gone.abort());
    const answer = await pollJobs(
      ctx,
      agentId,
      await bodyOf(req, BODY_SHAPES.poll),
      AbortSignal.any([gone.signal, ctx.shutdown]),
    );
    if (!gone.signal.aborted) res.json(answer);
  });
  r.post("/api/agent/jobs/:job/claim", async (req, res) => {
    const agentId = await authenticateAgent(ctx, req);
    const { session } = await bodyOf(req, BODY_SHAPES.agentJob);
    res.json(await claimJob(ctx, agentId, req.params.job, session));
  });
  r.post("/api/agent/jobs/:job/heartbeat", async (req, res) => {
    const agentId = await authenticateAgent(ctx, req);
    const { session } = await bodyOf(req, BODY_SHAPES.agentJob);
    res.json(await heartbeatJob(ctx, agentId, req.params.job, session));
  });
  r.post("/api/agent/jobs/:job/result", async (req, res) => {
    // The large limit only for this agent's own job, and only once both are known.
    const agentId = await authenticateAgent(ctx, req);
    await findOwnExecution(ctx, agentId, req.params.job);
    const body = knownFieldsOf(await readJsonBody(req, BODY_LIMITS.result), BODY_SHAPES.jobResult);
    res.json(await submitResult(ctx, agentId, req.params.job, body));
  });
  r.post("/api/agent/preflights/:id/claim", async (req, res) => {
    const agentId = await authenticateAgent(ctx, req);
    const { session } = await bodyOf(req, BODY_SHAPES.agentJob);
    res.json(await claimPreflight(ctx, agentId, req.params.id, session));
  });
  r.post("/api/agent/preflights/:id/result", async (req, res) => {
    // The plan-sized limit only for a preflight this agent is running, once both are known.
    const agentId = await authenticateAgent(ctx, req);
    await findOwnPreflight(ctx, agentId, req.params.id);
    const body = knownFieldsOf(await readJsonBody(req, BODY_LIMITS.plan), BODY_SHAPES.preflightResult);
    await submitPreflight(ctx, agentId, req.params.id, body);
    res.json({ ok: true });
  });
  r.post("/api/agent/schema", async (req, res) => {
    // The schema-sized limit only once the caller is known to be an agent.
    const agentId = await authenticateAgent(ctx, req);
    const body = knownFieldsOf(await readJsonBody(req, BODY_LIMITS.schema), BODY_SHAPES.schemaReport);
    await submitSchema(ctx, agentId, body);
    res.json({ ok: true });
  });
  return r;
}
