/** CLI / MCP routes: a thin adapter from HTTP to the request use cases. */
import {
  DbwardError,
  IDEMPOTENCY_KEY_PATTERN,
  IDEMPOTENT_REPLAYED_HEADER,
  isRequestStatus,
  parseRequestId,
  type RequestId,
  type RequestStatus,
} from "@dbward/shared";
import { Router, type Request } from "express";
import type { BotContext } from "../use-cases/bot-context.ts";
import { cancelRequest } from "../use-cases/cancel-request.ts";
import { createRequestWithKey } from "../use-cases/create-request.ts";
import { decideRequest } from "../use-cases/decide-request.ts";
import { preflight } from "../use-cases/preflight.ts";
import { readSchema } from "../use-cases/read-schema.ts";
import { getRequest, listVisibleRequests, toRequestView } from "../use-cases/read-requests.ts";
import { readPlan } from "../use-cases/read-plan.ts";
import { runRequest } from "../use-cases/run-request.ts";
import { authenticateUser } from "./authenticate.ts";
import { BODY_LIMITS } from "./body-limits.ts";
import { BODY_SHAPES, knownFieldsOf, type BodyShape } from "./body-shapes.ts";
import { readJsonBody } from "./read-body.ts";

export function idParam(req: Request): RequestId {
  const id = parseRequestId(req.params.id);
  if (id === undefined) throw new DbwardError("request.invalid", "request id must be a positive number");
  return id;
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** `as` on an approval: absent, or a selector (`role:NAME`, `group:NAME`, `user:ID`). */
function optionalSelector(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "string" && /^(role|group|user):[A-Za-z0-9_.@-]{1,100}$/.test(value)) return value;
  throw new DbwardError(
    "request.invalid",
    "as must be a selector such as group:dba, role:approver or user:bob",
  );
}

/**
 * The JSON body as an object, read now, within the API's small limit: call it after
 * authenticating the caller (read-body.ts). No body reads as `{}`; a body that is not an object,
 * or holds a field `shape` does not name, is 400 `request.invalid`.
 */
export async function bodyOf(req: Request, shape: BodyShape): Promise<Record<string, unknown>> {
  return knownFieldsOf(await readJsonBody(req, BODY_LIMITS.api), shape);
}

/**
 * The `Idempotency-Key` header (docs/api.md#idempotency-key), or undefined without one. Node
 * joins repeated headers with ", ", so they are read one by one: two keys are refused.
 */
export function idempotencyKeyOf(req: Request): string | undefined {
  const values = req.headersDistinct["idempotency-key"];
  if (values === undefined) return undefined;
  const [key] = values;
  if (values.length !== 1 || key === undefined || !IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw new DbwardError(
      "request.invalid",
      "Idempotency-Key must be one header of 1-255 printable ASCII characters (space to ~), such as a UUID",
    );
  }
  return key;
}

export function requestRoutes(ctx: BotContext): Router {
  const r = Router();
  r.post("/api/requests", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    const key = idempotencyKeyOf(req);
    const body = await bodyOf(req, BODY_SHAPES.createRequest);
    const created = await createRequestWithKey(ctx, caller, body, key);
    if (created.replayed) res.set(IDEMPOTENT_REPLAYED_HEADER, "true");
    // A replay answers as the first call did: 201, with the request as it is now.
    res.status(201).json(await toRequestView(ctx, created.request));
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
    const body = await bodyOf(req, BODY_SHAPES.approve);
    const comment = text(body.comment);
    const as = optionalSelector(body.as);
    if (body.not_before !== undefined && typeof body.not_before !== "string")
      throw new DbwardError("request.invalid", "not_before must be a time such as 2026-12-03T22:00:00Z");
    const done = await decideRequest(ctx, caller, idParam(req), {
      kind: "approve",
      comment,
      ...(as !== undefined ? { as } : {}),
      ...(body.not_before !== undefined ? { notBefore: body.not_before } : {}),
    });
    res.json(await toRequestView(ctx, done));
  });
  r.post("/api/requests/:id/reject", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    const reason = text((await bodyOf(req, BODY_SHAPES.reason)).reason);
    const done = await decideRequest(ctx, caller, idParam(req), { kind: "reject", reason });
    res.json(await toRequestView(ctx, done));
  });
  r.post("/api/requests/:id/cancel", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    const reason = text((await bodyOf(req, BODY_SHAPES.reason)).reason);
    const done = await cancelRequest(ctx, caller, idParam(req), reason);
    res.json(await toRequestView(ctx, done));
  });
  r.get("/api/requests/:id/plan", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    res.json(await readPlan(ctx, caller, idParam(req)));
  });
  r.post("/api/requests/:id/run", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    await bodyOf(req, BODY_SHAPES.run);
    res.json(await toRequestView(ctx, await runRequest(ctx, caller, idParam(req))));
  });
  r.post("/api/preflight", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    res.json(await preflight(ctx, caller, await bodyOf(req, BODY_SHAPES.preflight)));
  });
  r.get("/api/schema/:database/:environment", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    res.json(await readSchema(ctx, caller, req.params.database, req.params.environment));
  });
  return r;
}
