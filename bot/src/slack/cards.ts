/** From use-case answers to what the views draw, and the config questions views must not ask. */
import type { SlackConfig } from "../config/bot-config.ts";
import type { RequestDescription } from "../use-cases/describe-request.ts";
import { escapeMrkdwn } from "./slack-text.ts";
import type { RequestCard } from "./views/request-card.ts";

export function cardOf(d: RequestDescription): RequestCard {
  return {
    request: d.view,
    people: Object.fromEntries(
      d.people.map((u) => [u.id, u.slackUserId !== null ? `<@${u.slackUserId}>` : escapeMrkdwn(u.name)]),
    ),
    approvers: d.approvers.map((u) => u.id),
  };
}

/** Environments whose SQL stays out of the channel unless the config says otherwise. */
const PRODUCTION = new Set(["production", "prod"]);

export function showSqlInChannel(config: SlackConfig | undefined, environment: string): boolean {
  return config?.show_sql_in_channel[environment] ?? !PRODUCTION.has(environment);
}
