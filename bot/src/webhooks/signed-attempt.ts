/**
 * One attempt as the receiver sees it: the job's body, signed at send time with the secret the
 * environment holds now, and the headers every attempt of a delivery shares (X-Dbward-Delivery
 * is what receivers drop duplicates by). The timestamp, and so the signature, is new each time.
 */
import { webhookSecret } from "../config/webhooks-config.ts";
import { sendWebhook, type SendOutcome } from "./send-webhook.ts";
import type { Lookup } from "./ssrf-guard.ts";
import type { Job } from "./webhook-event.ts";
import { signWebhook, SIGNATURE_HEADER } from "./webhook-signature.ts";

export interface AttemptContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly now: Date;
  readonly lookup: Lookup;
  readonly allowPrivate: readonly string[];
  readonly signal: AbortSignal;
}

export async function sendSigned(job: Job, c: AttemptContext): Promise<SendOutcome> {
  const secret = webhookSecret(job.hook, c.env);
  if (secret === undefined) {
    return {
      status: "refused",
      error: `environment variable ${job.hook.secret_env} is not set`,
      reason: "secret",
    };
  }
  const timestamp = Math.floor(c.now.getTime() / 1000);
  return sendWebhook({
    url: job.hook.url,
    body: job.body,
    headers: {
      "content-type": "application/json",
      "user-agent": "dbward-webhooks/1",
      "x-dbward-event": job.key.event,
      "x-dbward-delivery": job.key.deliveryId,
      [SIGNATURE_HEADER]: signWebhook(secret, timestamp, job.body),
    },
    timeoutMs: job.hook.timeout_ms,
    lookup: c.lookup,
    allowPrivate: c.allowPrivate,
    signal: c.signal,
  });
}
