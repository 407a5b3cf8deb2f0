/**
 * Reads a verified Slack request body into the shapes Bolt dispatches on, refusing what Slack
 * never sends, so that Bolt only ever sees a body it can route:
 *
 * - a form body (slash commands; `payload=<JSON>` for interactions) or a JSON body (Events API),
 *   as Bolt itself tells them apart: by an exact `application/x-www-form-urlencoded` type;
 * - JSON nested deeper than `MAX_DEPTH`, refused before it is parsed (Slack's deepest payloads,
 *   a modal's state of nested blocks, stay far below; Bolt echoes `url_verification`
 *   challenges back through `JSON.stringify`, which overflows the stack on a deep one);
 * - the fields Bolt and the listeners read before their ack (`actions[0]`, `view.callback_id`,
 *   `view.state.values`, `user.id`, `event.type`) present with the right types;
 * - a callback `type` Bolt does not route (`app_rate_limited`, anything new) answered as
 *   `ignored`: Bolt would never ack it and the request would wait for the unhandled timeout.
 */
import { parse as parseQuery } from "node:querystring";

export const MAX_DEPTH = 64;

export type InboundBody =
  | { readonly kind: "dispatch" }
  | { readonly kind: "ignored"; readonly type: string }
  | { readonly kind: "invalid"; readonly why: string };

const FORM = "application/x-www-form-urlencoded";

/** What to do with a verified body: hand it to Bolt, ack and ignore it, or refuse it. */
export function parseInboundBody(raw: string, contentType: string | undefined): InboundBody {
  if (contentType === FORM) {
    const form = parseQuery(raw);
    if (form.payload === undefined) return checkForm(form);
    if (typeof form.payload !== "string") return invalid("more than one payload field");
    return checkJson(form.payload, INTERACTIONS);
  }
  return checkJson(raw, CALLBACKS);
}

type Checks = Readonly<Record<string, (body: Record<string, unknown>) => string | undefined>>;

const needUser = (b: Record<string, unknown>): string | undefined =>
  isString(objectAt(b, "user")?.id) ? undefined : "user.id is missing";

const needCallbackId = (b: Record<string, unknown>): string | undefined =>
  needUser(b) ?? (isString(b.callback_id) ? undefined : "callback_id is missing");

const needView = (b: Record<string, unknown>): string | undefined => {
  const view = objectAt(b, "view");
  if (view === undefined) return "view is missing";
  if (!isString(view.id) || !isString(view.callback_id)) return "view.id or view.callback_id is missing";
  return needUser(b);
};

/** A submission carries the modal's input values, which its listener reads before acking. */
const needSubmittedView = (b: Record<string, unknown>): string | undefined => {
  const state = objectAt(objectAt(b, "view") ?? {}, "state");
  return (
    needView(b) ??
    (objectAt(state ?? {}, "values") === undefined ? "view.state.values is missing" : undefined)
  );
};

/** Interactions, sent as `payload=`; these are the types Bolt routes. */
const INTERACTIONS: Checks = {
  block_actions: (b) => {
    const actions = b.actions;
    if (!Array.isArray(actions) || actions.length === 0) return "actions are missing";
    if (!actions.every((a) => isObject(a) && isString(a.action_id))) return "an action has no action_id";
    return needUser(b);
  },
  block_suggestion: (b) => (isString(b.action_id) ? needUser(b) : "action_id is missing"),
  interactive_message: (b) => (isString(b.callback_id) ? needUser(b) : "callback_id is missing"),
  dialog_submission: needCallbackId,
  dialog_cancellation: needCallbackId,
  view_submission: needSubmittedView,
  view_closed: needView,
  shortcut: needCallbackId,
  message_action: needCallbackId,
};

/** Events API bodies, sent as JSON. */
const CALLBACKS: Checks = {
  url_verification: (b) => (isString(b.challenge) ? undefined : "challenge is not a string"),
  ssl_check: () => undefined,
  event_callback: (b) => (isString(objectAt(b, "event")?.type) ? undefined : "event.type is missing"),
};

function checkForm(form: Record<string, string | string[] | undefined>): InboundBody {
  if (form.ssl_check !== undefined) return { kind: "dispatch" };
  if (typeof form.command !== "string" || typeof form.user_id !== "string") {
    return invalid("a form body without payload must be a slash command");
  }
  return { kind: "dispatch" };
}

function checkJson(text: string, checks: Checks): InboundBody {
  if (depthOf(text) > MAX_DEPTH) return invalid(`JSON nested deeper than ${MAX_DEPTH}`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return invalid("not JSON");
  }
  if (!isObject(value)) return invalid("not a JSON object");
  if (!isString(value.type)) return invalid("type is missing");
  const check = checks[value.type];
  if (check === undefined) return { kind: "ignored", type: value.type };
  const why = check(value);
  return why === undefined ? { kind: "dispatch" } : invalid(why);
}

/** Deepest nesting of `[`/`{` outside strings; linear, no recursion, stops past the limit. */
export function depthOf(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i += 1;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth += 1;
      if (depth > deepest) deepest = depth;
      if (deepest > MAX_DEPTH) return deepest;
    } else if (c === 0x5d || c === 0x7d) depth -= 1;
  }
  return deepest;
}

function invalid(why: string): InboundBody {
  return { kind: "invalid", why };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isString(v: unknown): v is string {
  return typeof v === "string";
}

function objectAt(b: Record<string, unknown>, key: string): Record<string, unknown> | undefined {
  const v = b[key];
  return isObject(v) ? v : undefined;
}
