/**
 * The Slack adapter, built once by the composition root: a Bolt app on the bot's own HTTP server
 * at `POST /slack/events` (slash commands, interactions and the `app_home_opened` event), behind
 * the request guard that audits refused requests and the gate that refuses malformed bodies; the
 * listeners, and the answer to whatever none of them handles (unhandled-requests.ts); the
 * after-commit notifier; and the Home tabs. Bolt is given the bot id and bot user id, so it never calls `auth.test`, and its
 * Web API client never retries by itself (the delivery queue does).
 */
import { App, ExpressReceiver, LogLevel, type Logger as BoltLogger } from "@slack/bolt";
import { Router, type Express } from "express";
import type { Logger } from "pino";
import { clientIp } from "../http/http-ops.ts";
import type { BotContext, RequestChange } from "../use-cases/bot-context.ts";
import { recordAuthFailure } from "../use-cases/record-auth-failure.ts";
import { AfterAck } from "./after-ack.ts";
import { SLACK_EVENTS_PATH } from "./ids.ts";
import { DeliveryQueue, DEFAULT_RETRY, type RetryPolicy } from "./delivery-queue.ts";
import { registerActions } from "./listeners/actions.ts";
import { registerAdmin } from "./listeners/admin.ts";
import { registerCommands } from "./listeners/commands.ts";
import { registerHome } from "./listeners/home.ts";
import { registerJoin } from "./listeners/join.ts";
import { registerViews } from "./listeners/views.ts";
import { memoryMessageRefs, type MessageRefs } from "./message-refs.ts";
import { HomeTabs } from "./home-tabs.ts";
import { createNotifier } from "./notifier.ts";
import { Outbox } from "./outbox.ts";
import { slackRequestGuard } from "./request-guard.ts";
import {
  answeredProperty,
  answerUnhandled,
  inboundBodyGate,
  processEventError,
  unhandledRequest,
} from "./unhandled-requests.ts";
import { createSlackApi } from "./slack-api.ts";
import type { SlackSettings } from "./slack-settings.ts";

/** Knobs for tests and operators; the defaults suit production. */
export interface SlackOptions {
  readonly retry?: Partial<RetryPolicy>;
  readonly messageRefs?: MessageRefs;
  /** Told of every failed Slack call, e.g. to count it in metrics. */
  readonly onCallFailed?: (what: string, code: string) => void;
  /**
   * How long Bolt waits for an ack before its unhandled-request handler answers. Every request is
   * answered long before (unhandled-requests.ts); tests raise it to prove that.
   */
  readonly unhandledRequestTimeoutMillis?: number;
}

export interface SlackAdapter {
  /** Mounts the endpoint; call before any body parser, Bolt reads the raw body. */
  mount(app: Express): void;
  /** The after-commit hook: queues the Slack side of a committed change. */
  onChange(change: RequestChange): void;
  /** Resolves when every queued delivery has finished (tests, shutdown). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export function createSlackAdapter(
  ctx: BotContext,
  settings: SlackSettings,
  logger: Logger,
  options: SlackOptions = {},
): SlackAdapter {
  const log = logger.child({ component: "slack" });
  const router = Router();
  const receiver = new ExpressReceiver({
    signingSecret: settings.signingSecret.reveal(),
    endpoints: SLACK_EVENTS_PATH,
    router,
    logger: boltLogger(log),
    customPropertiesExtractor: answeredProperty,
    unhandledRequestHandler: unhandledRequest(log),
    processEventErrorHandler: processEventError(log),
    ...(options.unhandledRequestTimeoutMillis !== undefined
      ? { unhandledRequestTimeoutMillis: options.unhandledRequestTimeoutMillis }
      : {}),
  });
  const app = new App({
    token: settings.botToken.reveal(),
    botId: settings.botId,
    botUserId: settings.botUserId,
    receiver,
    logger: boltLogger(log),
    convoStore: false,
    clientOptions: {
      slackApiUrl: settings.apiUrl,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: 10_000,
    },
  });
  app.error(async (err) => {
    log.error({ err }, "Slack listener error");
  });
  const afterAck = new AfterAck(log);
  const queue = new DeliveryQueue(
    log,
    { ...DEFAULT_RETRY, ...options.retry },
    Math.random,
    options.onCallFailed,
  );
  const outbox = new Outbox(createSlackApi(app.client, settings.apiUrl), queue);
  app.use(answerUnhandled({ outbox, afterAck, logger: log }));
  // Listener work continues after the ack; tracked so idle() and close() can wait for it.
  const working = new Set<Promise<void>>();
  app.use(async ({ next }) => {
    const work = next();
    working.add(work);
    try {
      await work;
    } finally {
      working.delete(work);
    }
  });
  const home = new HomeTabs(ctx, outbox, log);
  const deps = { ctx, outbox, logger: log, afterAck, home };
  registerCommands(app, deps);
  registerActions(app, deps);
  registerViews(app, deps);
  registerJoin(app, deps);
  registerAdmin(app, deps);
  registerHome(app, home);
  const notify = createNotifier({
    ctx,
    outbox,
    refs: options.messageRefs ?? memoryMessageRefs(),
    logger: log,
    home,
  });
  const guard = slackRequestGuard({
    signingSecret: () => settings.signingSecret.reveal(),
    now: () => ctx.clock.now(),
    onFailure: async (why, req) => {
      log.warn({ why, ip: req.ip }, "refused a request to the Slack endpoint");
      // Counted with the API's failed logins: past the limit, the address gets 429 before its
      // next request is verified or audited, so a flood of forgeries cannot flood the audit chain.
      ctx.limits?.recordAuthFailure(clientIp(req));
      await recordAuthFailure(ctx, {
        details: { kind: "slack", why, path: req.path, ip: req.ip ?? null },
      }).catch((err: unknown) => log.error({ err }, "could not audit a refused Slack request"));
    },
  });
  return {
    mount(express) {
      express.post(SLACK_EVENTS_PATH, ...guard, inboundBodyGate(log));
      express.use(router);
    },
    onChange: notify,
    async idle() {
      do {
        await Promise.allSettled([...working]);
        await afterAck.idle();
        await queue.idle();
      } while (working.size > 0);
    },
    async close() {
      await Promise.allSettled([...working]);
      await afterAck.idle();
      await queue.close();
    },
  };
}

/** Bolt's logger interface over pino; Bolt's debug chatter stays at debug. */
function boltLogger(log: Logger): BoltLogger {
  const text = (msg: unknown[]): string => msg.map((m) => (typeof m === "string" ? m : String(m))).join(" ");
  let level = LogLevel.INFO;
  return {
    debug: (...msg: unknown[]) => log.debug(text(msg)),
    info: (...msg: unknown[]) => log.info(text(msg)),
    warn: (...msg: unknown[]) => log.warn(text(msg)),
    error: (...msg: unknown[]) => log.error(text(msg)),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}
