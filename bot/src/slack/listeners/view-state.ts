/**
 * Reading what people typed into a modal. Slack keys values by block id and action id; block ids
 * can vary (the environment select's changes with the database), so values are found by action id.
 */
import { parseRequestId } from "@dbward/shared";
import type { ViewStateValue } from "@slack/bolt";
import type { QueryDraft } from "../command-parser.ts";
import { SLACK_IDS } from "../ids.ts";
import { sqlFromInput } from "../slack-text.ts";
import type { QueryMetadata } from "../views/modals.ts";
import { parseMetadata } from "./listener-kit.ts";

export type ViewValues = Readonly<Record<string, Readonly<Record<string, ViewStateValue>>>>;

export function valueOf(values: ViewValues, actionId: string): ViewStateValue | undefined {
  for (const block of Object.values(values)) {
    const v = block[actionId];
    if (v !== undefined) return v;
  }
  return undefined;
}

/** Text of an input, or of a select's chosen option; undefined when empty. */
export function textOf(values: ViewValues, actionId: string): string | undefined {
  const v = valueOf(values, actionId);
  const text = v?.selected_option?.value ?? v?.value ?? undefined;
  return typeof text === "string" && text.trim() !== "" ? text : undefined;
}

/** A date-and-time picker's choice as an ISO time, or undefined when nothing was picked. */
export function dateTimeOf(values: ViewValues, actionId: string): string | undefined {
  const seconds = valueOf(values, actionId)?.selected_date_time;
  return typeof seconds === "number" && Number.isSafeInteger(seconds)
    ? new Date(seconds * 1000).toISOString()
    : undefined;
}

export function queryDraftOf(values: ViewValues): QueryDraft {
  const ids = SLACK_IDS.inputs;
  const database = textOf(values, SLACK_IDS.actions.queryDatabase);
  const environment = textOf(values, ids.environment.action);
  const sql = textOf(values, ids.sql.action);
  const reason = textOf(values, ids.reason.action);
  return {
    ...(database !== undefined ? { database } : {}),
    ...(environment !== undefined ? { environment } : {}),
    ...(sql !== undefined ? { sql: sqlFromInput(sql) } : {}),
    ...(reason !== undefined ? { reason: reason.trim() } : {}),
  };
}

/** What a query form remembers (the request it runs again), kept when the form is redrawn. */
export function queryMetadataOf(view: { readonly private_metadata?: string }): QueryMetadata {
  const rerunOf = parseRequestId(parseMetadata(view.private_metadata).rerunOf);
  return rerunOf !== undefined ? { rerunOf } : {};
}
