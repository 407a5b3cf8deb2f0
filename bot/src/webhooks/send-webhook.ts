/**
 * One webhook attempt: check the destination (ssrf-guard.ts), then POST the body to exactly the
 * checked address with a timeout. The connection's DNS lookup is replaced by one that returns the
 * checked address, so the name is resolved once; TLS still checks the certificate against the
 * host name (SNI and verification use the URL's host, not the address).
 *
 * Redirects are never followed: a 3xx is a failed attempt, not retried. Following one would mean
 * checking a second destination chosen by the receiver; a receiver that moved should be
 * reconfigured instead.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { LookupFunction } from "node:net";
import { checkDestination, type Lookup } from "./ssrf-guard.ts";

export interface SendInput {
  readonly url: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly lookup: Lookup;
  readonly allowPrivate: readonly string[];
  /** Aborted when the bot shuts down. */
  readonly signal?: AbortSignal;
}

export type SendOutcome =
  | { readonly status: "succeeded"; readonly httpStatus: number }
  | {
      readonly status: "failed";
      readonly httpStatus?: number;
      readonly error: string;
      readonly retryable: boolean;
      /** A short label for metrics: `timeout`, `connection`, `tls`, `dns`, `redirect`, `http_503`, … */
      readonly reason: string;
    }
  | { readonly status: "refused"; readonly error: string; readonly reason: string };

export async function sendWebhook(input: SendInput): Promise<SendOutcome> {
  const dest = await checkDestination(input.url, { lookup: input.lookup, allowPrivate: input.allowPrivate });
  if (!dest.ok) {
    return dest.kind === "refused"
      ? { status: "refused", error: dest.reason, reason: "ssrf" }
      : { status: "failed", error: dest.reason, retryable: true, reason: "dns" };
  }
  const pinned: LookupFunction = (_host, options, callback) => {
    if (options.all === true) callback(null, [{ address: dest.address, family: dest.family }]);
    else callback(null, dest.address, dest.family);
  };
  const timeout = AbortSignal.timeout(input.timeoutMs);
  const signal = input.signal === undefined ? timeout : AbortSignal.any([timeout, input.signal]);
  const send = dest.url.protocol === "https:" ? httpsRequest : httpRequest;
  try {
    const status = await new Promise<number>((resolve, reject) => {
      const req = send(
        dest.url,
        {
          method: "POST",
          headers: { ...input.headers, "content-length": String(Buffer.byteLength(input.body)) },
          lookup: pinned,
          agent: false,
          signal,
        },
        (res: IncomingMessage) => {
          // Only the status matters; the response body is neither read nor kept.
          res.destroy();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end(input.body);
    });
    return classifyStatus(status);
  } catch (err) {
    if (timeout.aborted) {
      return {
        status: "failed",
        error: `no answer within ${input.timeoutMs} ms`,
        retryable: true,
        reason: "timeout",
      };
    }
    if (input.signal?.aborted === true) {
      return { status: "failed", error: "the bot is stopping", retryable: false, reason: "stopping" };
    }
    if (isCertificateError(err)) {
      // Retried like a connection failure (a renewed certificate fixes it), but named apart.
      return {
        status: "failed",
        error: `the receiver's certificate was refused: ${(err as Error).message}`,
        retryable: true,
        reason: "tls",
      };
    }
    return {
      status: "failed",
      error: `connection failed: ${(err as Error).message}`,
      retryable: true,
      reason: "connection",
    };
  }
}

/** OpenSSL's certificate verification codes as Node reports them, and Node's own host-name check. */
const CERTIFICATE_CODES =
  /^(ERR_TLS_CERT_ALTNAME_INVALID|.*CERT.*|UNABLE_TO_.*|DEPTH_ZERO_SELF_SIGNED_CERT)$/;

function isCertificateError(err: unknown): boolean {
  const code = typeof err === "object" && err !== null && "code" in err ? err.code : undefined;
  return typeof code === "string" && CERTIFICATE_CODES.test(code);
}

function classifyStatus(status: number): SendOutcome {
  if (status >= 200 && status < 300) return { status: "succeeded", httpStatus: status };
  if (status >= 300 && status < 400) {
    const error = "the receiver redirected; redirects are not followed";
    return { status: "failed", httpStatus: status, error, retryable: false, reason: "redirect" };
  }
  const retryable = status === 408 || status === 429 || status >= 500;
  return {
    status: "failed",
    httpStatus: status,
    error: `the receiver answered HTTP ${status}`,
    retryable,
    reason: `http_${status}`,
  };
}
