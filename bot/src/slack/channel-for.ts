/**
 * Which channel a request's post goes to: the most specific `slack.routes` entry for its database
 * and environment (a named environment over `*`, then a named database over `*`), else the
 * approvals channel. Pure.
 */
import type { SlackConfig } from "../config/bot-config.ts";

export function channelFor(slack: SlackConfig, database: string, environment: string): string {
  const best = slack.routes
    .filter(
      (r) =>
        (r.database === "*" || r.database === database) &&
        (r.environment === "*" || r.environment === environment),
    )
    .sort((a, b) => rank(b) - rank(a))[0];
  return best?.channel ?? slack.approvals_channel;
}

function rank(r: { database: string; environment: string }): number {
  return (r.environment === "*" ? 0 : 2) + (r.database === "*" ? 0 : 1);
}
