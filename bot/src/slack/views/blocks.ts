/**
 * Small Block Kit builders with Slack's size limits applied in one place, so no view can send a
 * block Slack would refuse (`invalid_blocks`): section text 3000 characters, a field 2000, ten
 * fields, a button label 75, a plain-text label 150.
 */
import { displaySql } from "@dbward/shared";
import type { types } from "@slack/bolt";
import { chunk, truncate } from "../slack-text.ts";

export type Block = types.KnownBlock;

/** A message as the adapter sends it: `text` is the notification and screen-reader fallback. */
export interface SlackMessage {
  readonly text: string;
  readonly blocks: Block[];
}

export const LIMITS = {
  sectionText: 3000,
  field: 2000,
  fields: 10,
  plainLabel: 150,
  buttonLabel: 75,
  contextText: 3000,
  /** Characters per preformatted block: kept under the section limit to be safe. */
  preformatted: 2900,
  messageBlocks: 50,
  modalBlocks: 100,
  modalTitle: 24,
} as const;

export function plain(text: string, max: number = LIMITS.plainLabel): types.PlainTextElement {
  return { type: "plain_text", text: truncate(text, max), emoji: true };
}

export function section(mrkdwn: string): Block {
  return { type: "section", text: { type: "mrkdwn", text: truncate(mrkdwn, LIMITS.sectionText) } };
}

export function fields(items: readonly (readonly [label: string, value: string])[]): Block {
  return {
    type: "section",
    fields: items
      .slice(0, LIMITS.fields)
      .map(([label, value]) => ({ type: "mrkdwn", text: truncate(`*${label}*\n${value}`, LIMITS.field) })),
  };
}

export function context(mrkdwn: string): Block {
  return { type: "context", elements: [{ type: "mrkdwn", text: truncate(mrkdwn, LIMITS.contextText) }] };
}

export function divider(): Block {
  return { type: "divider" };
}

/**
 * Exact text in monospace, as rich-text preformatted blocks: rich text is literal, so SQL shows
 * exactly as it will run, with no mrkdwn escaping. At most `maxBlocks`; what does not fit is
 * summarised in a last context block.
 */
export function preformatted(text: string, maxBlocks: number, overflowNote: string): Block[] {
  const pieces = chunk(text, LIMITS.preformatted);
  const shown = pieces.slice(0, maxBlocks);
  const blocks: Block[] = shown.map((piece) => ({
    type: "rich_text",
    elements: [{ type: "rich_text_preformatted", elements: [{ type: "text", text: piece }] }],
  }));
  const hidden = pieces.slice(maxBlocks).join("").length;
  if (hidden > 0) blocks.push(context(`… ${hidden} more characters. ${overflowNote}`));
  return blocks;
}

/**
 * SQL for people, as `preformatted` blocks: characters that do not show (bidirectional
 * controls, zero-width characters, …) are written as `⟨U+202E⟩`, so the approver reads what will
 * run (Trojan Source). Every view that shows SQL uses this, never `preformatted` on raw SQL.
 */
export function sqlBlocks(sql: string, maxBlocks: number, overflowNote: string): Block[] {
  return preformatted(displaySql(sql), maxBlocks, overflowNote);
}

export function button(
  text: string,
  actionId: string,
  value: string,
  style?: "primary" | "danger",
): types.Button {
  return {
    type: "button",
    text: plain(text, LIMITS.buttonLabel),
    action_id: actionId,
    value,
    ...(style !== undefined ? { style } : {}),
  };
}

export function option(text: string, value: string): types.PlainTextOption {
  return { text: plain(text, 75), value };
}
