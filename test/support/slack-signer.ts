/**
 * Signs a request exactly as Slack does (https://api.slack.com/authentication/verifying-requests-from-slack):
 * `v0=` + hex HMAC-SHA256, keyed with the app's signing secret, over `v0:<timestamp>:<raw body>`.
 * Test-only: the bot itself never computes this; Bolt's `verifySlackRequest` checks it.
 */
import { createHmac } from "node:crypto";

export type SlackSignature = {
  "x-slack-signature": string;
  "x-slack-request-timestamp": string;
};

export function signSlackRequest(
  secret: string,
  body: string,
  timestamp: number = Math.floor(Date.now() / 1000),
): SlackSignature {
  const hex = createHmac("sha256", secret).update(`v0:${timestamp}:${body}`).digest("hex");
  return { "x-slack-signature": `v0=${hex}`, "x-slack-request-timestamp": String(timestamp) };
}
