/**
 * How Slack's traffic reaches the listeners, by `slack.mode`:
 *
 * - `http`: Slack POSTs to `/slack/events` on the bot's HTTP server. The request guard checks
 *   the signature (and audits what it refuses), the body gate refuses malformed bodies, then
 *   Bolt's Express receiver dispatches.
 * - `socket`: the bot opens outbound WebSockets (socket-receiver.ts); nothing is mounted, and a
 *   POST to `/slack/events` finds no route. What arrives on the socket needs no signature: the
 *   socket was opened by the bot, over TLS, to Slack, with the app-level token, and only Slack
 *   can write to it.
 */
import { ExpressReceiver, type Receiver } from "@slack/bolt";
import { Router, type Express } from "express";
import type { Logger } from "pino";
import { clientIp } from "../http/http-ops.ts";
import type { BotContext } from "../use-cases/bot-context.ts";
import { isFirstSignature } from "../store/slack-signatures-repo.ts";
import { recordAuthFailure } from "../use-cases/record-auth-failure.ts";
import { SLACK_EVENTS_PATH } from "./ids.ts";
import { boltLogger } from "./bolt-logger.ts";
import { slackRequestGuard } from "./request-guard.ts";
import type { HttpSlackSettings, SocketSlackSettings } from "./slack-settings.ts";
import { SocketReceiver } from "./socket-receiver.ts";
import {
  answeredProperty,
  inboundBodyGate,
  processEventError,
  unhandledRequest,
} from "./unhandled-requests.ts";

export interface Inbound {
  readonly receiver: Receiver;
  mount(app: Express): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function httpInbound(
  ctx: BotContext,
  settings: HttpSlackSettings,
  log: Logger,
  unhandledRequestTimeoutMillis: number | undefined,
): Inbound {
  const router = Router();
  const receiver = new ExpressReceiver({
    signingSecret: settings.signingSecret.reveal(),
    endpoints: SLACK_EVENTS_PATH,
    router,
    logger: boltLogger(log),
    customPropertiesExtractor: answeredProperty,
    unhandledRequestHandler: unhandledRequest(log),
    processEventErrorHandler: processEventError(log),
    ...(unhandledRequestTimeoutMillis !== undefined ? { unhandledRequestTimeoutMillis } : {}),
  });
  const guard = slackRequestGuard({
    signingSecret: () => settings.signingSecret.reveal(),
    now: () => ctx.clock.now(),
    isFirstSignature: (signature, expiresAt) => isFirstSignature(ctx.store, signature, expiresAt),
    onFailure: async (why, req) => {
      log.warn({ why, ip: req.ip }, "refused a request to the Slack endpoint");
      // Counted with the API's failed logins: past the limit, the address gets 429 before its
      // next request is verified or audited, so a flood of forgeries cannot flood the audit chain.
      await ctx.limits
        ?.recordAuthFailure(clientIp(req))
        .catch((err: unknown) => log.error({ err }, "could not count a refused Slack request"));
      await recordAuthFailure(ctx, {
        details: { kind: "slack", why, path: req.path, ip: req.ip ?? null },
      }).catch((err: unknown) => log.error({ err }, "could not audit a refused Slack request"));
    },
  });
  return {
    receiver,
    mount(express) {
      express.post(SLACK_EVENTS_PATH, ...guard, inboundBodyGate(log));
      express.use(router);
    },
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(),
  };
}

export function socketInbound(settings: SocketSlackSettings, log: Logger, connections?: number): Inbound {
  const receiver = new SocketReceiver({
    appToken: settings.appToken.reveal(),
    apiUrl: settings.apiUrl,
    logger: log,
    ...(connections !== undefined ? { connections } : {}),
  });
  return {
    receiver,
    mount: () => undefined,
    start: () => receiver.start(),
    stop: () => receiver.stop(),
  };
}
