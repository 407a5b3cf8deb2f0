/** The bot's Express application: body limits, routes, and the one error mapper. */
import express, { type Express, type NextFunction, type Request, type Response } from "express";
import type { BotContext } from "../use-cases/bot-context.ts";
import { toHttpError } from "./error-mapper.ts";
import { bodyGate, lingerIfUnread } from "./body-limits.ts";
import { installFrontMiddleware, opsErrorHandler, type HttpOps } from "./http-ops.ts";
import { adminRoutes } from "./routes-admin.ts";
import { userRoutes } from "./routes-users.ts";
import { auditExportRoutes } from "./routes-audit-export.ts";
import { agentRoutes } from "./routes-agent.ts";
import { requestRoutes } from "./routes-requests.ts";
import { resultRoutes } from "./routes-results.ts";
import { opsRoutes } from "./routes-ops.ts";
import { stepUpRoutes } from "./step-up-routes.ts";

export interface AppOptions {
  /** Mounted before the routes; the body gate has read the Slack endpoint's raw body by then. */
  readonly beforeJson?: (app: Express) => void;
  readonly onError?: (err: unknown, req: Request) => void;
  /** Request ids, access log, metrics, rate limits, trusted proxies (main.ts builds it). */
  readonly ops?: HttpOps;
}

export function createApp(ctx: BotContext, options: AppOptions = {}): Express {
  const app = express();
  app.disable("x-powered-by");
  app.use(lingerIfUnread());
  if (options.ops) installFrontMiddleware(app, ctx, options.ops);
  app.use((_req, res, next) => {
    res.set({
      "x-content-type-options": "nosniff",
      "cache-control": "no-store",
      "referrer-policy": "no-referrer",
    });
    next();
  });
  // No body is parsed here: a Content-Length past the route's limit is refused at once, and
  // each route reads its body after authenticating the caller (body-limits.ts, read-body.ts).
  app.use(bodyGate(ctx));
  options.beforeJson?.(app);
  if (options.ops) app.use(opsRoutes(ctx, options.ops));
  app.use(resultRoutes(ctx));
  app.use(agentRoutes(ctx));
  app.use(requestRoutes(ctx));
  app.use(adminRoutes(ctx));
  app.use(userRoutes(ctx));
  app.use(auditExportRoutes(ctx));
  app.use(stepUpRoutes(ctx));
  app.use((_req, res) => {
    res.status(404).json({ error: { code: "request.not_found", message: "no such endpoint" } });
  });
  if (options.ops) app.use(opsErrorHandler(options.ops));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const { status, body } = toHttpError(err);
    if (status >= 500) options.onError?.(err, req);
    res.status(status).json(body);
  });
  return app;
}
