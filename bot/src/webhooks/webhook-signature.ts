/**
 * Webhook signatures: HMAC-SHA256 (RFC 2104) with the webhook's secret over the ASCII text
 * `<timestamp>.<body>`, sent as `X-Dbward-Signature: t=<unix seconds>,v1=<lower-case hex>`.
 * Binding the timestamp lets a receiver refuse replays older than a few minutes; the body is
 * signed byte for byte as sent, so a receiver must verify the raw body before parsing it.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "x-dbward-signature";
/** How old a signature a receiver should accept (and how far in the future). */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export function signatureHex(secret: string, timestamp: number, body: string): string {
  return createHmac("sha256", secret).update(`${timestamp}.${body}`, "utf8").digest("hex");
}

/** The header value for `body` sent at `timestamp` (unix seconds). */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${signatureHex(secret, timestamp, body)}`;
}

export type SignatureCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** What a receiver does: parse the header, check the age, compare in constant time. */
export function verifyWebhookSignature(
  header: string | undefined,
  body: string,
  secret: string,
  nowSeconds: number,
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
): SignatureCheck {
  const m = header === undefined ? null : /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(header);
  if (m === null) return { ok: false, reason: "missing or malformed signature header" };
  const timestamp = Number(m[1]);
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds)
    return { ok: false, reason: "timestamp outside tolerance" };
  const expected = Buffer.from(signatureHex(secret, timestamp, body), "hex");
  const given = Buffer.from(m[2] ?? "", "hex");
  return timingSafeEqual(expected, given) ? { ok: true } : { ok: false, reason: "signature does not match" };
}
