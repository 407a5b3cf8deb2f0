/** From use-case answers to what the views draw, and the config questions views must not ask. */
import type { SlackConfig } from "../config/bot-config.ts";
import { isProductionEnvironment } from "../core/production-environment.ts";
import type { User } from "../identity/users.ts";
import type { RequestDescription } from "../use-cases/describe-request.ts";
import { escapeMrkdwn } from "./slack-text.ts";
import type { RequestCard } from "./views/request-card.ts";

export function cardOf(d: RequestDescription): RequestCard {
  return { request: d.view, people: mentionsOf(d.people), approvers: d.approvers.map((u) => u.id) };
}

/** dbward user id → how Slack shows them: a mention when linked, the escaped name otherwise. */
export function mentionsOf(users: readonly User[]): Record<string, string> {
  return Object.fromEntries(
    users.map((u) => [u.id, u.slackUserId !== null ? `<@${u.slackUserId}>` : escapeMrkdwn(u.name)]),
  );
}

/** Production SQL stays out of the channel unless the config says otherwise. */
export function showSqlInChannel(config: SlackConfig | undefined, environment: string): boolean {
  return config?.show_sql_in_channel[environment] ?? !isProductionEnvironment(environment);
}
