/**
 * The Slack adapter, built once by the composition root: a Bolt app on the bot's own HTTP server
 * at `POST /slack/events` (slash commands, interactions and the `app_home_opened` event), behind
 * the request guard that audits refused requests and the gate that refuses malformed bodies; the
 * listeners, and the answer to whatever none of them handles (unhandled-requests.ts); the
 * outbox sender that delivers what the changes and the listeners queued; and the Home tabs. Bolt is
 * given the bot id and bot user id, so it never calls `auth.test`, and its Web API client never
 * retries by itself (the outbox sender and call-retry.ts do).
 */
import { App } from "@slack/bolt";
import { boltLogger } from "./bolt-logger.ts";
import type { Express } from "express";
import type { Logger } from "pino";
import type { BotContext, RequestChange } from "../use-cases/bot-context.ts";
import { AfterAck } from "./after-ack.ts";
import { dedupeDeliveries } from "./inbound-dedupe.ts";
import { httpInbound, socketInbound } from "./inbound.ts";
import { CallRetry, DEFAULT_RETRY, OUTBOX_RETRY, type RetryPolicy } from "./call-retry.ts";
import type { Delivery } from "./delivery.ts";
import { InteractiveCalls } from "./interactive-calls.ts";
import { registerActions } from "./listeners/actions.ts";
import { registerAdmin } from "./listeners/admin.ts";
import { registerCommands } from "./listeners/commands.ts";
import { registerHome } from "./listeners/home.ts";
import { registerJoin } from "./listeners/join.ts";
import { registerViews } from "./listeners/views.ts";
import { memoryMessageRefs, type MessageRefs } from "./message-refs.ts";
import { HomeTabs } from "./home-tabs.ts";
import { deliveryRunner } from "./run-delivery.ts";
import { SlackCalls } from "./slack-calls.ts";
import { SlackOutbox } from "./slack-outbox.ts";
import { SlackSender, type OutboxStore } from "./slack-sender.ts";
import { answerUnhandled } from "./unhandled-requests.ts";
import { createSlackApi } from "./slack-api.ts";
import type { SlackSettings } from "./slack-settings.ts";

/** Knobs for tests and operators; the defaults suit production. */
export interface SlackOptions {
  /** Retries of outbox deliveries (tries per row) and of the calls that answer at once. */
  readonly retry?: Partial<RetryPolicy>;
  /** A delivery older than this is given up on (default 24 h). */
  readonly maxDeliveryAgeMs?: number;
  /** How long a sender holds a row it is delivering before another may take it (default 30 s). */
  readonly outboxLeaseMs?: number;
  /** Told of each outbox delivery given up on, by kind and code (metrics). */
  readonly onDeliveryGaveUp?: (kind: string, code: string) => void;
  readonly messageRefs?: MessageRefs;
  /** Told of every failed Slack call, e.g. to count it in metrics. */
  readonly onCallFailed?: (what: string, code: string) => void;
  /**
   * How long Bolt waits for an ack before its unhandled-request handler answers. Every request is
   * answered long before (unhandled-requests.ts); tests raise it to prove that.
   */
  readonly unhandledRequestTimeoutMillis?: number;
  /** Socket Mode connections per instance (default 2). */
  readonly socketConnections?: number;
  /** Told, after its ack, of a delivery's identity: false when it was handled before (the store). */
  readonly isFirstDelivery?: (identity: string) => Promise<boolean>;
}

export interface SlackAdapter {
  /** Mounts the endpoint (HTTP mode); call before any body parser, Bolt reads the raw body. */
  mount(app: Express): void;
  /** Opens the Socket Mode connections (nothing in HTTP mode); resolves once connected. */
  start(): Promise<void>;
  /** The after-commit hook: the change's rows are in the outbox; the sender looks now. */
  onChange(change: RequestChange): void;
  /** Resolves when the outbox is empty and nothing is running (tests). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** The outbox table as the adapter needs it (store/slack-outbox-repo.ts). */
export interface OutboxTable {
  readonly rows: OutboxStore;
  /** Writes deliveries (coalesced) outside a change's transaction. */
  add(deliveries: readonly Delivery[]): Promise<void>;
}

export function createSlackAdapter(
  ctx: BotContext,
  settings: SlackSettings,
  logger: Logger,
  table: OutboxTable,
  options: SlackOptions = {},
): SlackAdapter {
  const log = logger.child({ component: "slack" });
  const inbound =
    settings.mode === "http"
      ? httpInbound(ctx, settings, log, options.unhandledRequestTimeoutMillis)
      : socketInbound(settings, log, options.socketConnections);
  const app = new App({
    token: settings.botToken.reveal(),
    botId: settings.botId,
    botUserId: settings.botUserId,
    receiver: inbound.receiver,
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
  const api = createSlackApi(app.client, settings.apiUrl);
  const retry = new CallRetry(log, { ...DEFAULT_RETRY, ...options.retry }, Math.random, options.onCallFailed);
  const calls = new InteractiveCalls(api, retry);
  const slackCalls = new SlackCalls(api);
  // Writing rows wakes the sender (built below; nothing writes before it exists).
  const outbox = new SlackOutbox(async (deliveries) => {
    await table.add(deliveries);
    sender.wake();
  }, log);
  // Listener work continues after the ack; tracked so idle() and close() can wait for it. The
  // outermost middleware, so the dedupe's store lookup (a network round trip on PostgreSQL
  // state) is tracked too.
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
  if (options.isFirstDelivery !== undefined) app.use(dedupeDeliveries(options.isFirstDelivery, log));
  app.use(answerUnhandled({ outbox, logger: log }));
  const home = new HomeTabs(ctx, slackCalls, (deliveries) => outbox.add(deliveries));
  const deps = { ctx, outbox, calls, logger: log, afterAck, home };
  registerCommands(app, deps);
  registerActions(app, deps);
  registerViews(app, deps);
  registerJoin(app, deps);
  registerAdmin(app, deps);
  registerHome(app, home);
  const sender = new SlackSender({
    store: table.rows,
    clock: ctx.clock,
    logger: log,
    retry: { ...OUTBOX_RETRY, ...options.retry },
    run: deliveryRunner({
      ctx,
      calls: slackCalls,
      refs: options.messageRefs ?? memoryMessageRefs(),
      logger: log,
      home,
    }),
    ...(options.maxDeliveryAgeMs !== undefined ? { maxAgeMs: options.maxDeliveryAgeMs } : {}),
    ...(options.outboxLeaseMs !== undefined ? { leaseMs: options.outboxLeaseMs } : {}),
    ...(options.onDeliveryGaveUp !== undefined ? { onGaveUp: options.onDeliveryGaveUp } : {}),
    ...(options.onCallFailed !== undefined ? { onCallFailed: options.onCallFailed } : {}),
  });
  sender.start();
  return {
    mount: inbound.mount,
    start: () => inbound.start(),
    onChange: () => sender.wake(),
    async idle() {
      do {
        await Promise.allSettled([...working]);
        await afterAck.idle();
        await outbox.idle();
        await sender.idle();
      } while (working.size > 0);
    },
    async close() {
      await inbound.stop();
      await Promise.allSettled([...working]);
      await afterAck.idle();
      await outbox.idle();
      retry.close();
      await sender.close();
    },
  };
}
