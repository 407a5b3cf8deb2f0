/**
 * The pages a person's browser shows during a step-up approval: plain HTML, nothing scripted or
 * styled (the security headers' CSP allows nothing to load), every dynamic part escaped. Each
 * refusal says what happened and what to do next; none says more about a link than its owner
 * already knows.
 */
import { displaySql } from "@dbward/shared";
import type { RequestRecord } from "../store/requests-repo.ts";
import type { StepUpRefusal } from "../use-cases/step-up-sign-in.ts";

const REFUSAL_TEXT: Record<StepUpRefusal, { readonly title: string; readonly body: string }> = {
  unknown_link: {
    title: "This link is not valid",
    body: "No approval waits on this link; nothing was approved. Click Approve on the request in Slack for a new one.",
  },
  expired: {
    title: "This link has expired",
    body: "Step-up links last a few minutes. Nothing was approved: click Approve in Slack again for a new link.",
  },
  already_used: {
    title: "This link was already used",
    body: "Each step-up link works once. Nothing more was approved: click Approve in Slack again if the request still needs you.",
  },
  not_configured: {
    title: "Step-up is not configured",
    body: "This dbward has no identity provider for step-up approvals any more. Nothing was approved; ask an admin.",
  },
  state_mismatch: {
    title: "This sign-in was not started here",
    body: "The answer from the identity provider matches no sign-in dbward started (or a newer one replaced it). Nothing was approved: open the latest link from Slack again.",
  },
  other_browser: {
    title: "Finish in the browser you started in",
    body: "This sign-in was started in another browser. Nothing was approved: click Approve in Slack again and open the new link here.",
  },
  provider_refused: {
    title: "The sign-in did not complete",
    body: "The identity provider's answer could not be verified. Nothing was approved: click Approve in Slack again to retry.",
  },
  provider_unreachable: {
    title: "The identity provider cannot be reached",
    body: "dbward could not reach the identity provider to sign you in. Nothing was approved, and this link still works until it expires: try it again in a moment.",
  },
  other_subject: {
    title: "You signed in as someone else",
    body: "The account you signed in with is not the one linked to the dbward user who clicked Approve. Nothing was approved: sign in with your own account, from a new link.",
  },
  stale_login: {
    title: "That sign-in was not fresh",
    body: "The identity provider reported an earlier sign-in, not one made just now. Nothing was approved: click Approve in Slack again and sign in when asked.",
  },
  not_confirmed: {
    title: "Open the link from Slack first",
    body: "This sign-in address was not opened from the page that shows what it approves, in this browser. Nothing was approved: open the link from your Slack message, read what it approves, and sign in from there.",
  },
  user_not_active: {
    title: "Your dbward account is suspended",
    body: "Nothing was approved. Ask an admin.",
  },
};

export function refusalPage(why: StepUpRefusal, requestId?: number): string {
  const t = REFUSAL_TEXT[why];
  return page(t.title, `${t.body}${requestId === undefined ? "" : ` (request #${requestId})`}`);
}

export function approvedPage(requestId: number, status: string): string {
  return page(
    `Approved with fresh sign-in`,
    `Your approval of request #${requestId} is recorded; the request is now ${status.replace(/_/g, " ")}. You can close this window.`,
  );
}

export function approvalRefusedPage(requestId: number, message: string): string {
  return page(
    "Signed in, but the approval was refused",
    `Request #${requestId}: ${message}. Nothing was approved.`,
  );
}

/**
 * What a link approves, before any sign-in: the request as its approval post shows it (SQL with
 * hidden characters made visible), and a warning for the person who did not click Approve
 * themselves: a link forwarded by someone holding their Slack session. `signIn` is relative to
 * the link, so a `public_url` with a path keeps working.
 */
export function confirmPage(a: {
  readonly request: RequestRecord;
  readonly userId: string;
  readonly expiresAt: string;
  readonly signIn: string;
}): string {
  const r = a.request;
  const facts =
    `Request #${r.id} by ${r.requester} on ${r.database} (${r.environment}), ${r.operation}, ` +
    `now ${r.status.replace(/_/g, " ")}. Reason: ${r.reason}`;
  const body =
    `<p>${escapeHtml(facts)}</p><pre>${escapeHtml(displaySql(r.sql))}</pre>` +
    `<p><strong>${escapeHtml(
      `Only if you, dbward user ${a.userId}, clicked Approve on this request in Slack just now: sign in to approve it. ` +
        "If you did not, someone else is using your Slack account or sent you this link: close this page and tell an admin.",
    )}</strong></p>` +
    `<p><a id="sign-in" href="${escapeHtml(a.signIn)}">Sign in to approve request #${r.id}</a> ` +
    `${escapeHtml(`(this link works until ${a.expiresAt})`)}</p>`;
  return raw(`Approve request #${r.id}?`, body);
}

function page(title: string, body: string): string {
  return raw(title, `<p>${escapeHtml(body)}</p>`);
}

/** `body` is HTML its caller escaped. */
function raw(title: string, body: string): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>dbward: ${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );
}
