/**
 * Every verified Slack request gets an answer at once (Slack gives up after 3 seconds and shows
 * the person a generic error; Bolt's own fallback waits that long and then answers 404):
 *
 * - `inboundBodyGate`, before Bolt: a body Bolt could not route (bad JSON, JSON nested too deep,
 *   missing fields) is refused with 400 `request.invalid`; a callback type Bolt does not route is
 *   acked with an empty 200 and ignored (inbound-body.ts).
 * - `answerUnhandled`, Bolt's outermost global middleware: once every listener has run, a button,
 *   modal, shortcut, command or options request that none of them acked is acked here, and the
 *   person is told privately that it is from an older version of dbward and what to run instead.
 *   A listener that failed before its ack is answered here too, and the person told that nothing
 *   was recorded (a failed form gets a modal pushed over it, so Back returns to what they typed).
 *   Events need nothing: Bolt acks them before any listener runs.
 * - `unhandledRequest` and `processEventError`, the receiver's handlers: the last resort if
 *   something is still unanswered at the timeout (200, logged, never 404), and a listener error
 *   before its ack (logged with its error; 500, since that is a bug on our side).
 */
import type {
  AnyMiddlewareArgs,
  Middleware,
  ReceiverProcessEventErrorHandlerArgs,
  ReceiverUnhandledRequestHandlerArgs,
} from "@slack/bolt";
import type { Request, RequestHandler } from "express";
import type { Logger } from "pino";
import { parseInboundBody } from "./inbound-body.ts";
import type { SlackOutbox } from "./slack-outbox.ts";
import type { SlackMessage } from "./views/blocks.ts";
import {
  failedInteractionMessage,
  failedModal,
  requestIdOfAction,
  requestIdOfView,
  staleInteractionMessage,
  staleInteractionText,
  staleModal,
} from "./stale-interaction.ts";

/** The context key through which the middleware asks whether the HTTP answer has gone out. */
export const ANSWERED = "dbwardAnswered";

/** The receiver's `customPropertiesExtractor`: lets `answerUnhandled` see whether a listener acked. */
export function answeredProperty(req: Request): Record<string, () => boolean> {
  return { [ANSWERED]: () => req.res?.headersSent === true };
}

export function inboundBodyGate(log: Logger): RequestHandler {
  return (req, res, next) => {
    const raw: unknown = (req as Request & { rawBody?: unknown }).rawBody;
    const text = Buffer.isBuffer(raw) ? raw.toString("utf8") : "";
    const verdict = parseInboundBody(text, req.get("content-type"));
    if (verdict.kind === "dispatch") {
      next();
      return;
    }
    if (verdict.kind === "ignored") {
      log.info({ type: verdict.type }, "acked a Slack callback type dbward does not handle");
      res.status(200).end();
      return;
    }
    log.warn({ why: verdict.why }, "refused a signed but malformed Slack request");
    res
      .status(400)
      .json({ error: { code: "request.invalid", message: `not a Slack payload: ${verdict.why}` } });
  };
}

export interface UnhandledDeps {
  readonly outbox: SlackOutbox;
  readonly logger: Logger;
}

type Ack = (response?: Record<string, unknown>) => Promise<void>;

export function answerUnhandled(deps: UnhandledDeps): Middleware<AnyMiddlewareArgs> {
  return async (args) => {
    const answered = args.context[ANSWERED];
    const unanswered = (): boolean => "ack" in args && typeof answered === "function" && answered() === false;
    // Each member of the union types ack's argument for its own surface; this answers all of them.
    const ack = "ack" in args ? (args.ack as Ack) : undefined;
    try {
      await args.next();
    } catch (err) {
      // A listener failed before its ack (a bug, reported by app.error): answer now, not at the
      // timeout, and say so; a form is kept under a pushed modal, not closed with its input lost.
      if (ack !== undefined && unanswered()) {
        if (isRecord(args.body)) await answerFailure(deps, args.body, ack);
        else await ack();
      }
      throw err;
    }
    if (ack === undefined || !unanswered()) return;
    const body: unknown = args.body;
    if (!isRecord(body)) return;
    deps.logger.warn({ type: body.type, id: idOf(body) }, "no listener handled a Slack request");
    await answer(deps, body, ack);
  };
}

async function answer(deps: UnhandledDeps, body: Record<string, unknown>, ack: Ack): Promise<void> {
  const first: unknown = Array.isArray(body.actions) ? body.actions[0] : undefined;
  await tell(deps, body, ack, {
    modal: {
      response_action: "update",
      view: staleModal(requestIdOfView(field(body.view, "private_metadata"))),
    },
    command: staleInteractionText(undefined),
    message: staleInteractionMessage(isRecord(first) ? requestIdOfAction(first) : undefined),
  });
}

async function answerFailure(deps: UnhandledDeps, body: Record<string, unknown>, ack: Ack): Promise<void> {
  const message = failedInteractionMessage();
  await tell(deps, body, ack, {
    modal: { response_action: "push", view: failedModal() },
    command: message.text,
    message,
  });
}

/** Acks `body` on its surface with what the person should read, and tells them privately where the ack cannot. */
async function tell(
  deps: UnhandledDeps,
  body: Record<string, unknown>,
  ack: Ack,
  say: { modal: Record<string, unknown>; command: string; message: SlackMessage },
): Promise<void> {
  if (body.type === "view_submission") {
    await ack(say.modal);
    return;
  }
  if (body.type === "block_suggestion") {
    await ack({ options: [] });
    return;
  }
  if (typeof body.command === "string") {
    await ack({ response_type: "ephemeral", text: say.command });
    return;
  }
  await ack();
  if (body.type === "view_closed") return;
  const message = say.message;
  const url = body.response_url;
  const user = field(body.user, "id");
  const lane = `stale:${typeof user === "string" ? user : "unknown"}`;
  if (typeof url === "string" && url !== "") deps.outbox.reply(lane, { via: "response_url", url }, message);
  else if (typeof user === "string") deps.outbox.reply(lane, { via: "dm", user }, message);
}

function idOf(body: Record<string, unknown>): unknown {
  if (Array.isArray(body.actions)) return field(body.actions[0], "action_id");
  return field(body.view, "callback_id") ?? body.callback_id ?? body.command;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function field(v: unknown, key: string): unknown {
  return isRecord(v) ? v[key] : undefined;
}

export function unhandledRequest(log: Logger): (a: ReceiverUnhandledRequestHandlerArgs) => void {
  return ({ response }) => {
    log.error("a Slack request was still unanswered at the timeout; answered 200");
    if (!response.headersSent) response.writeHead(200).end();
  };
}

export function processEventError(
  log: Logger,
): (a: ReceiverProcessEventErrorHandlerArgs) => Promise<boolean> {
  return async ({ error, response }) => {
    log.error({ err: error }, "a Slack listener failed before answering");
    if (response.headersSent) return false;
    response.writeHead(500, { "content-type": "application/json" });
    response.end(JSON.stringify({ error: { code: "internal", message: "dbward failed on this request" } }));
    // True: the request is answered, so Bolt stops its unhandled-request timer.
    return true;
  };
}
