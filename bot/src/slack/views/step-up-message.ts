/**
 * The private answer to an Approve click under step-up: the link that starts the fresh sign-in.
 * It goes only to the person who clicked (ephemeral, or a DM) through the outbox, never to the
 * channel: the link is a bearer of one approval until it is used or expires.
 */
import { section, type SlackMessage } from "./blocks.ts";

export function stepUpLinkMessage(requestId: number, url: string, minutes: number): SlackMessage {
  const text =
    `Request #${requestId} needs a fresh sign-in before your approval counts. ` +
    `<${url}|Sign in again to approve #${requestId}> (this link is yours alone, works once, and expires in ${minutes} minute(s)). ` +
    "Nothing is approved until you have signed in.";
  return {
    text: `Request #${requestId} needs a fresh sign-in before your approval counts.`,
    blocks: [section(text)],
  };
}
