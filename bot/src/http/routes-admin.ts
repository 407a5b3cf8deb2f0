/** Admin and audit routes, plus the public key agents pin and health probes. */
import { DbwardError, base64url, type AuditEventView, type PublicKeysView } from "@dbward/shared";
import { sql } from "kysely";
import { Router } from "express";
import { listAudit } from "../audit/audit-log.ts";
import type { BotContext } from "../use-cases/bot-context.ts";
import { assertPermission } from "../use-cases/caller.ts";
import { createApiToken } from "../use-cases/create-api-token.ts";
import { authenticateUser } from "./authenticate.ts";
import { bodyOf } from "./routes-requests.ts";

export function adminRoutes(ctx: BotContext): Router {
  const r = Router();
  r.post("/api/tokens", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    res.status(201).json(await createApiToken(ctx, caller, bodyOf(req)));
  });
  r.get("/api/audit", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    assertPermission(caller, "audit.read");
    const after = req.query.after === undefined ? 0 : Number(req.query.after);
    const limit = req.query.limit === undefined ? 100 : Number(req.query.limit);
    if (!Number.isInteger(after) || after < 0 || !Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new DbwardError("request.invalid", "after must be a sequence number and limit 1-1000");
    }
    const target = typeof req.query.target === "string" ? req.query.target : undefined;
    const events = await listAudit(ctx.store, {
      afterSeq: after,
      limit,
      ...(target !== undefined ? { target } : {}),
    });
    const view: AuditEventView[] = events.map((e) => ({
      seq: e.seq,
      time: e.time,
      actor: e.actor,
      action: e.action,
      target: e.target,
      outcome: e.outcome,
      details: { ...e.details },
      prev_hash: e.prevHash,
      hash: e.hash,
    }));
    res.json({ events: view });
  });
  r.get("/api/public-key", (_req, res) => {
    const body: PublicKeysView = {
      keys: [{ kid: ctx.signingKey.kid, alg: "EdDSA", public_key: base64url(ctx.signingKey.publicKey) }],
    };
    res.json(body);
  });
  r.get("/health", (_req, res) => {
    res.json({ status: "ok" });
  });
  r.get("/ready", async (_req, res) => {
    await sql`select 1`.execute(ctx.store);
    res.json({ status: "ready" });
  });
  return r;
}
