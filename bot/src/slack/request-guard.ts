/**
 * Checks every request to the Slack endpoint before Bolt sees it, so that each refusal can be
 * audited (SECURITY.md: forged or replayed Slack request → 401, nothing recorded but the failure).
 *
 * - missing or malformed `x-slack-signature` / `x-slack-request-timestamp` headers;
 * - a timestamp more than five minutes ahead (Bolt accepts those; T-REPLAY: a request signed
 *   with a future time would otherwise stay replayable for as long as its clock skew);
 * - the signature and staleness check itself, done by Bolt's `verifySlackRequest` (v0 HMAC over
 *   `v0:<timestamp>:<body>`, more than five minutes old is refused) — not re-implemented here;
 * - an exact replay: a signature already accepted within the window;
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
import type { Request, RequestHandler, Response } from "express";
import { isUtf8SlackBody, NOT_UTF8_MESSAGE } from "../http/utf8-body.ts";

export const WINDOW_SECONDS = 5 * 60;

export interface GuardOptions {
  readonly signingSecret: () => string;
  readonly now: () => Date;
  /** Audits the failure; the request is refused with 401 whatever this does. */
  readonly onFailure: (why: string, req: Request) => Promise<void>;
  readonly seen?: SeenSignatures;
}

export function slackRequestGuard(o: GuardOptions): RequestHandler[] {
  const seen = o.seen ?? new SeenSignatures();
  const check: RequestHandler = (req, res, next) => {
    const why = refusal(req, o, seen);
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
  };
  // The body gate (http/body-limits.ts) has already read the raw body, within the Slack limit,
  // into `req.body`; a request without one has nothing to verify and fails the signature check.
  return [check];
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

function refusal(req: Request, o: GuardOptions, seen: SeenSignatures): string | undefined {
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
  if (!seen.remember(signature, (ts + WINDOW_SECONDS) * 1000 + 1000, nowMs)) return "replayed request";
  (req as Request & { rawBody?: Buffer }).rawBody = raw;
  return undefined;
}

/**
 * Signatures accepted within the window, each kept until its timestamp leaves the window: after
 * that Bolt refuses the request as stale anyway. Bounded; the oldest go first when full.
 */
export class SeenSignatures {
  private readonly until = new Map<string, number>();
  private lastPrune = 0;

  constructor(private readonly max = 200_000) {}

  /** False when `signature` was already seen and is still inside its window. */
  remember(signature: string, expiresAtMs: number, nowMs: number): boolean {
    const known = this.until.get(signature);
    if (known !== undefined && known > nowMs) return false;
    this.prune(nowMs);
    this.until.set(signature, expiresAtMs);
    return true;
  }

  get size(): number {
    return this.until.size;
  }

  /** Drops expired entries at most once a second, and the oldest ones when full. */
  private prune(nowMs: number): void {
    if (nowMs - this.lastPrune >= 1000) {
      this.lastPrune = nowMs;
      for (const [sig, exp] of this.until) if (exp <= nowMs) this.until.delete(sig);
    }
    for (const sig of this.until.keys()) {
      if (this.until.size < this.max) break;
      this.until.delete(sig);
    }
  }
}
