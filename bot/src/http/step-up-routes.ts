/**
 * The browser side of a step-up approval: `GET /step-up/<secret>` (the private link Slack shows
 * the approver) shows what it approves and a "Sign in" link to `GET /step-up/<secret>/sign-in`,
 * which redirects to the identity provider and sets a cookie that binds the sign-in to this
 * browser; `GET /step-up/callback` is where the provider sends the browser back. Neither
 * takes a body nor any credential but the link, the state and the cookie; a refused one counts
 * as a failed authentication for the caller's address (rate limits), so links cannot be guessed
 * by brute force. The answers are HTML pages (step-up-pages.ts) under the bot's security headers
 * (no framing, no scripts, no referrer: the link's secret never leaves in a Referer).
 */
import { Router, type Request, type Response } from "express";
import { STEP_UP_CALLBACK_PATH } from "../identity/step-up-provider.ts";
import type { BotContext } from "../use-cases/bot-context.ts";
import { completeStepUp } from "../use-cases/step-up-complete.ts";
import { openStepUpLink, previewStepUpLink } from "../use-cases/step-up-sign-in.ts";
import { STEP_UP_PATH } from "../use-cases/step-up-start.ts";
import { clientIp } from "./http-ops.ts";
import { approvalRefusedPage, approvedPage, confirmPage, refusalPage } from "./step-up-pages.ts";

/** The cookie that says which browser opened the link. */
export const STEP_UP_COOKIE = "dbward_step_up";
/** The cookie that says this browser was shown what the link approves. */
const STEP_UP_VIEWED_COOKIE = "dbward_step_up_viewed";

/** After a link's path: the page's "Sign in" link, which starts the sign-in. */
const SIGN_IN_SUFFIX = "/sign-in";

/** A link's secret: 32 random bytes, base64url (Random.secret(32)). */
const LINK_SECRET = /^[A-Za-z0-9_-]{43}$/;

/**
 * The path as log lines may show it: a link's secret sits in its path (not its query, which the
 * access log already drops), so every path under /step-up/ but the callback is logged as
 * `/step-up/:secret`. The link is a bearer of one approval; a log reader must not hold it.
 */
export function loggedPath(path: string): string {
  return path.startsWith(`${STEP_UP_PATH}/`) && path !== STEP_UP_CALLBACK_PATH
    ? `${STEP_UP_PATH}/:secret`
    : path;
}

export function stepUpRoutes(ctx: BotContext): Router {
  const r = Router({ caseSensitive: true, strict: true });
  r.get(STEP_UP_CALLBACK_PATH, async (req, res) => {
    const state = typeof req.query.state === "string" ? req.query.state : undefined;
    const q = req.originalUrl.indexOf("?");
    const done = await completeStepUp(ctx, {
      query: q < 0 ? "" : req.originalUrl.slice(q),
      state,
      browser: cookieOf(req, STEP_UP_COOKIE),
      ip: clientIp(req),
    });
    // The cookie has done its one job, whatever the outcome.
    res.clearCookie(STEP_UP_COOKIE, cookieOptions(ctx));
    res.clearCookie(STEP_UP_VIEWED_COOKIE, cookieOptions(ctx));
    if (done.ok) return html(res, 200, approvedPage(done.request.id, done.request.status));
    if (done.why === "approval_refused")
      return html(res, 409, approvalRefusedPage(done.requestId, done.message));
    await countFailure(ctx, req);
    return html(res, 403, refusalPage(done.why, done.requestId));
  });
  // The link itself only shows what it approves; its page's "Sign in" link starts the sign-in.
  r.get(`${STEP_UP_PATH}/:secret`, async (req, res) => {
    const secret = req.params.secret ?? "";
    if (!LINK_SECRET.test(secret)) {
      await countFailure(ctx, req);
      return html(res, 404, refusalPage("unknown_link"));
    }
    const shown = await previewStepUpLink(ctx, secret, { ip: clientIp(req) });
    if (!shown.ok) {
      await countFailure(ctx, req);
      return html(res, shown.why === "unknown_link" ? 404 : 403, refusalPage(shown.why, shown.requestId));
    }
    res.cookie(STEP_UP_VIEWED_COOKIE, shown.viewed, {
      ...cookieOptions(ctx),
      maxAge: Math.max(0, Date.parse(shown.expiresAt) - ctx.clock.now().getTime()),
    });
    return html(res, 200, confirmPage({ ...shown, signIn: `${secret}${SIGN_IN_SUFFIX}` }));
  });
  r.get(`${STEP_UP_PATH}/:secret${SIGN_IN_SUFFIX}`, async (req, res) => {
    const secret = req.params.secret ?? "";
    if (!LINK_SECRET.test(secret)) {
      await countFailure(ctx, req);
      return html(res, 404, refusalPage("unknown_link"));
    }
    const opened = await openStepUpLink(ctx, secret, {
      ip: clientIp(req),
      viewed: cookieOf(req, STEP_UP_VIEWED_COOKIE),
    });
    if (!opened.ok) {
      // The provider being down is nobody's failed authentication.
      if (opened.why === "provider_unreachable")
        return html(res, 503, refusalPage(opened.why, opened.requestId));
      await countFailure(ctx, req);
      return html(res, opened.why === "unknown_link" ? 404 : 403, refusalPage(opened.why, opened.requestId));
    }
    res.cookie(STEP_UP_COOKIE, opened.browser, {
      ...cookieOptions(ctx),
      maxAge: opened.maxAgeSeconds * 1000,
    });
    res.redirect(303, opened.redirect);
  });
  return r;
}

function cookieOptions(ctx: BotContext): {
  httpOnly: true;
  sameSite: "lax";
  secure: boolean;
  path: string;
} {
  const publicUrl = ctx.config().step_up?.public_url ?? "";
  // Lax: the provider's redirect back is a top-level GET from another site, which Lax lets
  // through; nothing a third-party page embeds or POSTs carries it.
  return { httpOnly: true, sameSite: "lax", secure: publicUrl.startsWith("https:"), path: STEP_UP_PATH };
}

/** One cookie's value from the Cookie header (RFC 6265 §5.4), or undefined. */
function cookieOf(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

async function countFailure(ctx: BotContext, req: Request): Promise<void> {
  await ctx.limits?.recordAuthFailure(clientIp(req));
}

function html(res: Response, status: number, body: string): void {
  res.status(status).type("html").send(body);
}
