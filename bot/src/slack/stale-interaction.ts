/**
 * What a person is told when they use a button, modal or shortcut that no listener handles any
 * more (a message posted before an `action_id` was renamed, a modal left open across an upgrade),
 * and where the request id comes from: the button's value, its `request-<id>` block id, or the
 * modal's `requestId` metadata. Pure; the Slack calls are unhandled-requests.ts's.
 */
import { parseRequestId, type RequestId } from "@dbward/shared";
import type { types } from "@slack/bolt";
import { plain, section, type SlackMessage } from "./views/blocks.ts";

const OLDER = "This is from an older version of dbward and no longer does anything.";

export function staleInteractionText(id: RequestId | undefined): string {
  return id === undefined
    ? `${OLDER} Run \`/dbward list\` to find your requests and act on them from a new message.`
    : `${OLDER} Run \`/dbward status ${id}\` to see request #${id} and act on it from a new message.`;
}

export function staleInteractionMessage(id: RequestId | undefined): SlackMessage {
  const text = staleInteractionText(id);
  return { text, blocks: [section(text)] };
}

/** The modal that replaces a submitted one nobody handles (`response_action: "update"`). */
export function staleModal(id: RequestId | undefined): types.ModalView {
  return {
    type: "modal",
    title: plain("dbward"),
    close: plain("Close"),
    blocks: [section(staleInteractionText(id))],
  };
}

const FAILED =
  "dbward failed while handling that, and recorded nothing: it is a bug on our side, and it has been logged. Try again; if it keeps failing, tell your dbward operator.";

/** What a person is told when a listener failed before answering them. */
export function failedInteractionMessage(): SlackMessage {
  return { text: FAILED, blocks: [section(FAILED)] };
}

/**
 * Pushed over a submitted modal whose listener failed (`response_action: "push"`): the person's
 * form stays underneath, with what they typed, for Back.
 */
export function failedModal(): types.ModalView {
  return {
    type: "modal",
    title: plain("dbward"),
    close: plain("Back"),
    blocks: [section(`${FAILED} Back returns to your form as you left it.`)],
  };
}

/** The request a stale button belongs to, if its value or block id names one. */
export function requestIdOfAction(action: { value?: unknown; block_id?: unknown }): RequestId | undefined {
  const fromValue = parseRequestId(action.value);
  if (fromValue !== undefined) return fromValue;
  const block = typeof action.block_id === "string" ? /^request-(\d+)$/.exec(action.block_id) : null;
  return parseRequestId(block?.[1]);
}

/** The request a stale modal belongs to, if its JSON `private_metadata` names one. */
export function requestIdOfView(privateMetadata: unknown): RequestId | undefined {
  if (typeof privateMetadata !== "string") return undefined;
  try {
    const meta: unknown = JSON.parse(privateMetadata);
    return typeof meta === "object" && meta !== null && "requestId" in meta
      ? parseRequestId(meta.requestId)
      : undefined;
  } catch {
    return undefined;
  }
}
