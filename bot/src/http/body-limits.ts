/**
 * How large a body each route may send, checked before anything reads it (SECURITY.md:
 * resource exhaustion before auth, flooding). The gate runs before Slack and every route:
 *
 * - a Content-Length above the route's limit is answered 413 at once, nothing read;
 * - the Slack endpoint's body is read here, at most 1 MB: Slack signs the raw body, so it must
 *   be read before the caller is known (a review modal's state with 100 KB of SQL fits);
 * - every other body is read by its route after authentication (read-body.ts);
 * - an answer sent before the body has arrived (a refusal) leaves the connection open for a
 *   short linger, discarding what still comes, so the client can read the answer; then the
 *   socket is closed. Closing at once would reset the connection and lose the answer.
 */
import {
  MAX_CSV_HEAD_BYTES,
  MAX_REQUEST_BODY_BYTES,
  MAX_RESULT_BODY_BYTES,
  MAX_RESULT_CHUNK_BYTES,
} from "@dbward/shared";
import type { Request, RequestHandler } from "express";
import type { BotContext } from "../use-cases/bot-context.ts";
import { SLACK_EVENTS_PATH } from "../slack/ids.ts";
import { attachBodySlots, declaredLength, LargeBodySlots, readRawBody, tooLarge } from "./read-body.ts";

/** Largest body on the Slack endpoint; Slack's own payloads are a few KB. */
export const MAX_SLACK_BODY_BYTES = 1024 * 1024;

/** Per route: everything not named here gets the small API limit. */
export const BODY_LIMITS = {
  api: MAX_REQUEST_BODY_BYTES,
  /** An agent's final result for a job it holds (inline rows). */
  result: MAX_RESULT_BODY_BYTES,
  /** One chunk of an agent's result rows for a job it is running, with a CSV chunk's head line. */
  chunk: MAX_RESULT_CHUNK_BYTES + MAX_CSV_HEAD_BYTES,
  slack: MAX_SLACK_BODY_BYTES,
  /** A preflight's plan (EXPLAIN JSON of a big query runs to a few hundred KB). */
  plan: 2 * 1024 * 1024,
  /** An agent's schema context of one database (up to MAX_SCHEMA_TABLES tables with their columns). */
  schema: 4 * 1024 * 1024,
} as const;

export type BodyRoute = keyof typeof BODY_LIMITS;

/** Express routes match case-insensitively and with an optional trailing slash; so do these. */
const ROUTES: readonly (readonly [RegExp, BodyRoute])[] = [
  [/^\/api\/agent\/jobs\/[^/]+\/result\/?$/i, "result"],
  [/^\/api\/agent\/jobs\/[^/]+\/result\/chunks\/[^/]+\/?$/i, "chunk"],
  [/^\/api\/agent\/preflights\/[^/]+\/result\/?$/i, "plan"],
  [/^\/api\/agent\/schema\/?$/i, "schema"],
  [new RegExp(`^${SLACK_EVENTS_PATH}/?$`, "i"), "slack"],
];

export function bodyRouteOf(path: string): BodyRoute {
  return ROUTES.find(([pattern]) => pattern.test(path))?.[1] ?? "api";
}

/** How long a refused request's connection stays open so its client can read the answer. */
export const LINGER_MS = 1000;

export function bodyGate(ctx: BotContext): RequestHandler {
  const slots = new LargeBodySlots(() => ctx.config().http.max_large_bodies);
  return (req, _res, next) => {
    attachBodySlots(req, slots);
    const route = bodyRouteOf(req.path);
    const limit = BODY_LIMITS[route];
    const declared = declaredLength(req);
    if (declared !== undefined && declared > limit) {
      next(tooLarge(limit));
      return;
    }
    if (route !== "slack") {
      next();
      return;
    }
    // Bolt's receiver and the request guard take the raw body from here.
    readRawBody(req, limit).then((raw) => {
      req.body = raw;
      next();
    }, next);
  };
}

/**
 * Mounted first, so it covers every early answer (a rate-limit refusal too): after an answer
 * sent while the body was still arriving, Node discards the rest; past LINGER_MS it is closed.
 */
export function lingerIfUnread(): RequestHandler {
  return (req, res, next) => {
    res.on("finish", () => closeSoonIfUnread(req));
    next();
  };
}

function closeSoonIfUnread(req: Request): void {
  if (req.complete) return;
  const socket = req.socket;
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  req.once("end", () => clearTimeout(timer));
  socket.once("close", () => clearTimeout(timer));
}
