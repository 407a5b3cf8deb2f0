/**
 * Response headers for an API that only ever answers JSON (and Slack's Bolt endpoint):
 * nothing may be framed, scripted, sniffed or cached, and browsers on other origins get no
 * special access. HSTS (RFC 6797) is sent only on requests that arrived over TLS — directly or,
 * per `http.trusted_proxies`, via X-Forwarded-Proto from a trusted proxy — because a browser
 * ignores it over plain http (RFC 6797 §7.2) and a loopback/dev bot must stay reachable.
 */
import type { RequestHandler } from "express";

export const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "x-frame-options": "DENY",
  "cross-origin-resource-policy": "same-origin",
  "cross-origin-opener-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=()",
} as const;

export const HSTS = "max-age=31536000; includeSubDomains";

export function securityHeaders(): RequestHandler {
  return (req, res, next) => {
    res.set(SECURITY_HEADERS);
    if (req.secure) res.set("strict-transport-security", HSTS);
    next();
  };
}
