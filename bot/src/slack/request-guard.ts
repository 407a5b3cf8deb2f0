/**
 * Checks every request to the Slack endpoint before Bolt sees it, so that each refusal can be
 * audited (SECURITY.md: forged or replayed Slack request → 401, nothing recorded but the failure).
 *
 * - missing or malformed `x-slack-signature` / `x-slack-request-timestamp` headers;
 * - a timestamp more than five minutes ahead (Bolt accepts those; T-REPLAY: a request signed
 *   with a future time would otherwise stay replayable for as long as its clock skew);
 * - the signature and staleness check itself, done by Bolt's `verifySlackRequest` (v0 HMAC over
 *   `v0:<timestamp>:<body>`, more than five minutes old is refused) — not re-implemented here;
 * - an exact replay: a signature already accepted within the window, remembered in the state store
 *   (store/slack-signatures-repo.ts) so a replay to another bot instance, or after a restart, is
 *   refused too; only a signature that verified is ever written;
 * - a body that is not valid UTF-8 (`utf8-body.ts`): 400 `request.invalid`, not audited, since
 *   it says nothing about who sent it. Raw bytes are checked before the signature, because Bolt
 *   checks the signature over the decoded text, which invalid bytes can never match, so such a
 *   body would otherwise pass for a forgery; a form body's percent-encoded bytes after it.
 *   Slack itself always sends UTF-8: only a broken or hostile client sees this answer.
 *
 * The raw body is handed on as `req.rawBody`, which Bolt's receiver reads (and verifies again).
 */
import { verifySlackRequest } from "@slack/bolt";
import { isUtf8 } from "node:buffer";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { isUtf8SlackBody, NOT_UTF8_MESSAGE } from "../http/utf8-body.ts";

export const WINDOW_SECONDS = 5 * 60;

export interface GuardOptions {
  readonly signingSecret: () => string;
  readonly now: () => Date;
  /** Audits the failure; the request is refused with 401 whatever this does. */
  readonly onFailure: (why: string, req: Request) => Promise<void>;
  /**
   * Remembers a verified signature until `expiresAt`: false when it was accepted before (a
   * replay). The first call for a signature wins, on every instance sharing the store.
   */
  readonly isFirstSignature: (signature: string, expiresAt: Date) => Promise<boolean>;
}

export function slackRequestGuard(o: GuardOptions): RequestHandler[] {
  const check: RequestHandler = (req, res, next) => {
    refusal(req, o).then((why) => answer(why, req, res, next, o), next);
  };
  // The body gate (http/body-limits.ts) has already read the raw body, within the Slack limit,
  // into `req.body`; a request without one has nothing to verify and fails the signature check.
  return [check];
}

function answer(
  why: string | undefined,
  req: Request,
  res: Response,
  next: NextFunction,
  o: GuardOptions,
): void {
  if (why === NOT_UTF8) {
    refuseNotUtf8(res);
    return;
  }
  if (why === undefined) {
    if (isUtf8SlackBody(rawBodyOf(req), req.get("content-type"))) next();
    else refuseNotUtf8(res);
    return;
  }
  const refuse = (): void => {
    res.status(401).json({ error: { code: "auth.invalid", message: "request not from Slack" } });
  };
  o.onFailure(why, req).then(refuse, refuse);
}

/** A refusal that is not about authentication: answered 400 and not audited. */
const NOT_UTF8 = "body is not valid UTF-8";

function refuseNotUtf8(res: Response): void {
  res.status(400).json({ error: { code: "request.invalid", message: NOT_UTF8_MESSAGE } });
}

function rawBodyOf(req: Request): Buffer {
  const body: unknown = req.body;
  return Buffer.isBuffer(body) ? body : Buffer.alloc(0);
}

async function refusal(req: Request, o: GuardOptions): Promise<string | undefined> {
  const raw = rawBodyOf(req);
  const signature = req.get("x-slack-signature");
  const timestamp = req.get("x-slack-request-timestamp");
  if (signature === undefined || timestamp === undefined) return "missing signature headers";
  if (!/^v0=[0-9a-f]{64}$/.test(signature) || !/^[0-9]{1,12}$/.test(timestamp)) {
    return "malformed signature headers";
  }
  const nowMs = o.now().getTime();
  const ts = Number(timestamp);
  if (ts > Math.floor(nowMs / 1000) + WINDOW_SECONDS) return "timestamp too far in the future";
  if (!isUtf8(raw)) return NOT_UTF8;
  try {
    verifySlackRequest({
      signingSecret: o.signingSecret(),
      body: raw.toString("utf8"),
      headers: { "x-slack-signature": signature, "x-slack-request-timestamp": ts },
      nowMilliseconds: nowMs,
    });
  } catch (err) {
    return err instanceof Error && /stale/.test(err.message) ? "timestamp too old" : "bad signature";
  }
  // Kept until the timestamp leaves the window: after that Slack's check refuses it as stale.
  const expiresAt = new Date((ts + WINDOW_SECONDS) * 1000 + 1000);
  if (!(await o.isFirstSignature(signature, expiresAt))) return "replayed request";
  (req as Request & { rawBody?: Buffer }).rawBody = raw;
  return undefined;
}
