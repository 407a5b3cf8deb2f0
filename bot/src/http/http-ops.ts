/**
 * What the bot's HTTP server does around every route, built by main.ts and mounted by
 * create-app.ts: which peer addresses are trusted proxies, the request id and access log,
 * security headers, the failed-authentication guard per client IP, and, on the way out,
 * Retry-After on 429s and the counting of refusals.
 */
import { DbwardError } from "@dbward/shared";
import type { ErrorRequestHandler, Express, Request } from "express";
import type { Logger } from "pino";
import { compileBlockList } from "../config/operations-config.ts";
import type { RateLimits } from "../limits/rate-limits.ts";
import { rateLimitOf } from "../limits/rate-limits.ts";
import type { BotMetrics } from "../metrics/bot-metrics.ts";
import type { BotContext } from "../use-cases/bot-context.ts";
import type { MonitoringToken } from "./monitoring-auth.ts";
import { requestLog, routeOf } from "./request-log.ts";
import { securityHeaders } from "./security-headers.ts";

export interface HttpOps {
  readonly logger: Logger;
  readonly metrics: BotMetrics;
  readonly limits: RateLimits;
  readonly monitoringToken: MonitoringToken | undefined;
}

/** Liveness and readiness probes are never refused by the failed-authentication guard. */
const UNGUARDED = new Set(["/health", "/ready"]);

/** The client address as Express computed it under `trust proxy` (a socket without one: `unknown`). */
export function clientIp(req: Request): string {
  return req.ip ?? "unknown";
}

/**
 * Express believes X-Forwarded-For and X-Forwarded-Proto only from a peer in
 * `http.trusted_proxies` (read per call, so a config reload applies); `req.ip` is then the
 * first untrusted address in the chain, counted from the socket's side.
 */
function trustProxy(ctx: BotContext): (address: string) => boolean {
  let cidrs: readonly string[] | undefined;
  let trusted: (address: string) => boolean = () => false;
  return (address) => {
    const current = ctx.config().http.trusted_proxies;
    if (current !== cidrs) {
      cidrs = current;
      trusted = compileBlockList(current);
    }
    return trusted(address);
  };
}

/** Mounted first, before Slack and the JSON parser. */
export function installFrontMiddleware(app: Express, ctx: BotContext, ops: HttpOps): void {
  app.set("trust proxy", trustProxy(ctx));
  app.use(
    requestLog(ops.logger, (req, res) =>
      ops.metrics.httpRequests.inc({
        method: req.method,
        route: routeOf(req),
        status: String(res.statusCode),
      }),
    ),
  );
  app.use(securityHeaders());
  // A store read per call (the buckets are shared by every instance); never a write.
  app.use((req, _res, next) => {
    if (UNGUARDED.has(req.path)) return next();
    ops.limits.assertAuthAllowed(clientIp(req)).then(() => next(), next);
  });
}

/** Mounted just before the error mapper: it adds to the answer and counts, and changes nothing else. */
export function opsErrorHandler(ops: HttpOps): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    const limited = rateLimitOf(err);
    if (limited !== undefined) {
      res.set("retry-after", String(limited.retryAfterSeconds));
      ops.metrics.rateLimited.inc({ limit: limited.limit });
    } else if (err instanceof DbwardError && (err.code === "auth.invalid" || err.code === "auth.missing")) {
      ops.metrics.authFailures.inc({ code: err.code });
      // The refusal goes out whatever the count does: a store that cannot count it is logged.
      const counted = (e?: unknown): void => {
        if (e !== undefined) ops.logger.error({ err: e }, "could not count a failed authentication");
        next(err);
      };
      ops.limits.recordAuthFailure(clientIp(req)).then(() => counted(), counted);
      return;
    }
    next(err);
  };
}
