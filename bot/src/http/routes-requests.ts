/** CLI / MCP routes: a thin adapter from HTTP to the request use cases. */
import {
  DbwardError,
  isRequestStatus,
  parseRequestId,
  type RequestId,
  type RequestStatus,
} from "@dbward/shared";
import { Router, type Request } from "express";
import type { BotContext } from "../use-cases/bot-context.ts";
import { cancelRequest } from "../use-cases/cancel-request.ts";
import { createRequest } from "../use-cases/create-request.ts";
import { decideRequest } from "../use-cases/decide-request.ts";
import { preflight } from "../use-cases/preflight.ts";
import { getRequest, listVisibleRequests, toRequestView } from "../use-cases/read-requests.ts";
import { authenticateUser } from "./authenticate.ts";
import { BODY_LIMITS } from "./body-limits.ts";
import { readJsonBody } from "./read-body.ts";

export function idParam(req: Request): RequestId {
  const id = parseRequestId(req.params.id);
  if (id === undefined) throw new DbwardError("request.invalid", "request id must be a positive number");
  return id;
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/**
 * The JSON body as an object, read now, within the API's small limit: call it after
 * authenticating the caller (read-body.ts). Anything else reads as empty and fails the use
 * case's validation.
 */
export async function bodyOf(req: Request): Promise<Record<string, unknown>> {
  const b = await readJsonBody(req, BODY_LIMITS.api);
  return typeof b === "object" && b !== null && !Array.isArray(b) ? (b as Record<string, unknown>) : {};
}

export function requestRoutes(ctx: BotContext): Router {
  const r = Router();
  r.post("/api/requests", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    const created = await createRequest(ctx, caller, await bodyOf(req));
    res.status(201).json(await toRequestView(ctx, created));
  });
  r.get("/api/requests", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    const statuses = text(req.query.status)
      .split(",")
      .filter((s) => s !== "");
    const bad = statuses.filter((s) => !isRequestStatus(s));
    if (bad.length > 0) throw new DbwardError("request.invalid", `unknown status ${bad.join(", ")}`);
    const limit = req.query.limit === undefined ? undefined : Number(req.query.limit);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 500))
      throw new DbwardError("request.invalid", "limit must be 1-500");
    const requests = await listVisibleRequests(ctx, caller, {
      mine: req.query.mine === "true",
      statuses: statuses as RequestStatus[],
      ...(limit !== undefined ? { limit } : {}),
    });
    res.json({ requests });
  });
  r.get("/api/requests/:id", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    res.json(await getRequest(ctx, caller, idParam(req)));
  });
  r.post("/api/requests/:id/approve", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    const comment = text((await bodyOf(req)).comment);
    const done = await decideRequest(ctx, caller, idParam(req), { kind: "approve", comment });
    res.json(await toRequestView(ctx, done));
  });
  r.post("/api/requests/:id/reject", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    const reason = text((await bodyOf(req)).reason);
    const done = await decideRequest(ctx, caller, idParam(req), { kind: "reject", reason });
    res.json(await toRequestView(ctx, done));
  });
  r.post("/api/requests/:id/cancel", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    const reason = text((await bodyOf(req)).reason);
    const done = await cancelRequest(ctx, caller, idParam(req), reason);
    res.json(await toRequestView(ctx, done));
  });
  r.post("/api/preflight", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    res.json(preflight(ctx, caller, await bodyOf(req)));
  });
  return r;
}
