/**
 * `GET /api/audit/export` (NDJSON, streamed) and `GET /api/audit/checkpoint`, both for users with
 * `audit.read` (docs/audit.md). The export is written line by line with back-pressure; a failure
 * after the first line cuts the response short, which any verifier reports, rather than ending it
 * as if it were complete.
 */
import { once } from "node:events";
import { Router, type Response } from "express";
import type { BotContext } from "../use-cases/bot-context.ts";
import { exportAuditLog, readLatestCheckpoint } from "../use-cases/export-audit-log.ts";
import { authenticateUser } from "./authenticate.ts";

export function auditExportRoutes(ctx: BotContext): Router {
  const r = Router();
  r.get("/api/audit/export", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    const since = typeof req.query.since === "string" ? req.query.since : undefined;
    const lines = await exportAuditLog(ctx, caller, { since });
    res.status(200).type("application/x-ndjson");
    try {
      for await (const line of lines) if (!(await writeLine(res, `${line}\n`))) return;
      res.end();
    } catch (err) {
      if (!res.headersSent) throw err;
      res.destroy(err as Error);
    }
  });
  r.get("/api/audit/checkpoint", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    res.json({ checkpoint: (await readLatestCheckpoint(ctx, caller)) ?? null });
  });
  return r;
}

/** Writes with back-pressure; false once the client has gone. */
async function writeLine(res: Response, text: string): Promise<boolean> {
  if (res.destroyed) return false;
  if (!res.write(text)) await Promise.race([once(res, "drain"), once(res, "close")]);
  return !res.destroyed;
}
