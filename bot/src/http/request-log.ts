/**
 * One request id per HTTP call: taken from an incoming `x-request-id` when it is a plain token
 * (so a proxy's id carries through), generated otherwise; echoed in the response header and put
 * on the access-log line. The line has method, path without query string, route pattern,
 * status, duration and client address — never headers or bodies, which carry tokens and SQL.
 */
import { randomUUID } from "node:crypto";
import type { Request, RequestHandler, Response } from "express";
import type { Logger } from "pino";
import { loggedPath } from "./step-up-routes.ts";

const INCOMING_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** Probes that arrive every few seconds: logged at debug so they do not drown the log. */
const PROBES = new Set(["/health", "/ready", "/metrics"]);

const ids = new WeakMap<Request, string>();

/** The request id given to `req`, for log lines written elsewhere (the error handler). */
export function requestIdOf(req: Request): string | undefined {
  return ids.get(req);
}

/** The matched route pattern (`/api/requests/:id`), or `unmatched`: a bounded label set. */
export function routeOf(req: Request): string {
  const route: unknown = req.route;
  const path = typeof route === "object" && route !== null ? (route as { path?: unknown }).path : undefined;
  return typeof path === "string" ? path : "unmatched";
}

export function requestLog(
  logger: Logger,
  onFinish?: (req: Request, res: Response, seconds: number) => void,
): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get("x-request-id");
    const id = incoming !== undefined && INCOMING_ID.test(incoming) ? incoming : randomUUID();
    ids.set(req, id);
    res.set("x-request-id", id);
    const started = process.hrtime.bigint();
    res.on("finish", () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const path = loggedPath(req.originalUrl.split("?")[0] ?? "");
      const line = {
        req_id: id,
        method: req.method,
        path,
        route: routeOf(req),
        status: res.statusCode,
        duration_ms: Math.round(seconds * 1000),
        ip: req.ip ?? null,
      };
      if (PROBES.has(path) && res.statusCode < 400) logger.debug(line, "http request");
      else logger.info(line, "http request");
      onFinish?.(req, res, seconds);
    });
    next();
  };
}
