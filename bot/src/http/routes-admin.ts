/** Token and audit routes, plus the public key agents pin and health probes. */
import type { AuditListView, TokenListView } from "@dbward/shared";
import { Router } from "express";
import type { BotContext } from "../use-cases/bot-context.ts";
import { createApiToken } from "../use-cases/create-api-token.ts";
import { listApiTokens } from "../use-cases/list-api-tokens.ts";
import { listAuditEvents } from "../use-cases/list-audit-events.ts";
import { listPublicKeys } from "../use-cases/list-public-keys.ts";
import { revokeApiToken } from "../use-cases/revoke-api-token.ts";
import { authenticateUser } from "./authenticate.ts";
import { BODY_SHAPES } from "./body-shapes.ts";
import { bodyOf } from "./routes-requests.ts";

/** A query-string value as one string; repeated or nested values read as absent-but-invalid. */
function queryValue(value: unknown): unknown {
  return Array.isArray(value) || (typeof value === "object" && value !== null) ? [] : value;
}

export function adminRoutes(ctx: BotContext): Router {
  const r = Router();
  r.post("/api/tokens", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    res.status(201).json(await createApiToken(ctx, caller, await bodyOf(req, BODY_SHAPES.createToken)));
  });
  r.get("/api/tokens", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    const user = queryValue(req.query.user);
    const body: TokenListView = {
      tokens: await listApiTokens(ctx, caller, {
        ...(typeof user === "string" ? { user } : {}),
        all: req.query.all === "true",
      }),
    };
    res.json(body);
  });
  r.delete("/api/tokens/:id", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    res.json(await revokeApiToken(ctx, caller, req.params.id));
  });
  r.get("/api/audit", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    const q = req.query;
    const body: AuditListView = {
      events: await listAuditEvents(ctx, caller, {
        after: queryValue(q.after),
        limit: queryValue(q.limit),
        target: queryValue(q.target),
        actor: queryValue(q.actor),
        action: queryValue(q.action),
        since: queryValue(q.since),
        until: queryValue(q.until),
      }),
    };
    res.json(body);
  });
  r.get("/api/public-key", async (_req, res) => {
    res.json(await listPublicKeys(ctx));
  });
  r.get("/health", (_req, res) => {
    res.json({ status: "ok" });
  });
  return r;
}
