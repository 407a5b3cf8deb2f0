/**
 * Socket Mode without a public address: Bolt's listeners fed from outbound WebSocket connections
 * (Slack's `@slack/socket-mode` client), so the signing authority accepts no inbound traffic from
 * the internet. Our own receiver rather than Bolt's SocketModeReceiver, for what that one gets
 * wrong against the real client (Bolt 5.1, socket-mode 3.1):
 *
 * - More than one connection (Slack allows up to 10 per app). On a `disconnect` (refresh) the
 *   client closes its socket and opens a new one seconds later with no overlap; with two, the
 *   other is still there and Slack sends the envelopes to it, so a refresh never leaves the app
 *   unreachable. Each envelope reaches one connection; the dedupe (inbound-dedupe.ts) makes a
 *   re-delivered one change state once.
 * - Every envelope is acked: one no listener matched, or whose listener threw before acking, is
 *   acked after Bolt is done with it (HTTP mode has a timeout for this; Socket Mode has nothing,
 *   and Slack would re-deliver it).
 * - Its own Web API options: the client writes `retries: 100` into the options it is given, which
 *   must never reach the listeners' client (the outbox does the retrying).
 */
import { SocketModeClient } from "@slack/socket-mode";
import type { App, Receiver, ReceiverEvent } from "@slack/bolt";
import type { Logger } from "pino";
import { DbwardError } from "@dbward/shared";
import { SLACK_ENV } from "./slack-settings.ts";
import { ANSWERED } from "./unhandled-requests.ts";

type SocketLogger = NonNullable<NonNullable<ConstructorParameters<typeof SocketModeClient>[0]>["logger"]>;

const STOP_WAIT_MS = 2000;

/** Slack's answers to `apps.connections.open` that waiting cannot fix: the token is wrong. */
const TOKEN_ERRORS = new Set([
  "invalid_auth",
  "not_authed",
  "not_allowed_token_type",
  "token_revoked",
  "account_inactive",
  "missing_scope",
]);

export interface SocketReceiverOptions {
  readonly appToken: string;
  /** Base URL of the Web API (`apps.connections.open` is called there), ending in `/`. */
  readonly apiUrl: string;
  readonly logger: Logger;
  /** Connections kept open at once (1–10; Slack's limit per app is 10). */
  readonly connections?: number;
}

interface Envelope {
  readonly ack: (response?: Record<string, unknown>) => Promise<void>;
  readonly envelope_id?: string;
  readonly type?: string;
  readonly body?: unknown;
  readonly retry_num?: number;
  readonly retry_reason?: string;
}

export class SocketReceiver implements Receiver {
  private app: App | undefined;
  private readonly clients: SocketModeClient[];
  private readonly log: Logger;
  private readonly retries = new Set<NodeJS.Timeout>();
  private stopped = false;

  private readonly apiUrl: string;
  private readonly appToken: string;

  constructor(o: SocketReceiverOptions) {
    this.log = o.logger.child({ receiver: "socket" });
    this.apiUrl = o.apiUrl;
    this.appToken = o.appToken;
    const n = Math.min(10, Math.max(1, o.connections ?? 2));
    this.clients = Array.from({ length: n }, (_, i) => this.client(o, i));
  }

  init(app: App): void {
    this.app = app;
  }

  /**
   * Connects every socket. A token Slack refuses stops the start (`config.invalid`); any other
   * failure (Slack unreachable) is logged and retried with backoff in the background, so the
   * bot's API serves while Slack is away.
   *
   * The token is tried once by hand first: Slack's client counts `not_allowed_token_type` (a bot
   * token where the app token belongs) as recoverable and retries it for ever without an error.
   */
  async start(): Promise<void> {
    const verdict = await this.probe();
    if (verdict.kind === "refused") {
      throw new DbwardError(
        "config.invalid",
        `Slack refused the app-level token (${SLACK_ENV.appToken}): ${verdict.code}; it must be an xapp- token with the connections:write scope`,
      );
    }
    await Promise.all(this.clients.map((c, i) => this.connect(c, i, 1)));
  }

  /**
   * Closes every socket. A client still trying to reconnect (Slack unreachable) may never say it
   * is done, so each gets STOP_WAIT_MS: a stopping bot must not hang on Slack.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.retries) clearTimeout(t);
    const patience = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, STOP_WAIT_MS).unref());
    await Promise.all(
      this.clients.map((c) => Promise.race([c.disconnect().catch(() => undefined), patience()])),
    );
  }

  /** One `apps.connections.open` without retries: what Slack says of the token. */
  private async probe(): Promise<
    { kind: "ok" } | { kind: "refused"; code: string } | { kind: "unreachable" }
  > {
    try {
      const res = await fetch(`${this.apiUrl}apps.connections.open`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${this.appToken}`,
          "content-type": "application/x-www-form-urlencoded",
        },
        redirect: "error",
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await res.json()) as { ok?: unknown; error?: unknown };
      if (body.ok === true) return { kind: "ok" };
      const code = typeof body.error === "string" ? body.error : `http_${res.status}`;
      return TOKEN_ERRORS.has(code) ? { kind: "refused", code } : { kind: "unreachable" };
    } catch {
      return { kind: "unreachable" };
    }
  }

  private async connect(client: SocketModeClient, index: number, attempt: number): Promise<void> {
    if (this.stopped) return;
    try {
      await client.start();
      this.log.info({ connection: index }, "connected to Slack in Socket Mode");
    } catch (err) {
      const delay = Math.min(60_000, 1000 * 2 ** Math.min(attempt - 1, 6));
      this.log.warn(
        { err, connection: index, retry_in_ms: delay },
        "could not connect to Slack in Socket Mode",
      );
      const timer = setTimeout(() => {
        this.retries.delete(timer);
        void this.connect(client, index, attempt + 1);
      }, delay);
      timer.unref();
      this.retries.add(timer);
    }
  }

  private client(o: SocketReceiverOptions, index: number): SocketModeClient {
    const log = this.log.child({ connection: index });
    const client = new SocketModeClient({
      appToken: o.appToken,
      logger: socketLogger(log),
      autoReconnectEnabled: true,
      // A fresh object per client: it adds its own retry config to what it is given.
      clientOptions: { slackApiUrl: o.apiUrl, timeout: 10_000 },
    });
    client.on("slack_event", (envelope: Envelope) => {
      this.dispatch(envelope, log).catch((err: unknown) =>
        log.error({ err, envelope: envelope.envelope_id }, "a Socket Mode envelope failed"),
      );
    });
    client.on("disconnecting", () => log.info("Socket Mode connection closing; reconnecting"));
    return client;
  }

  private async dispatch(envelope: Envelope, log: Logger): Promise<void> {
    let acked = false;
    const ack = async (response?: unknown): Promise<void> => {
      if (acked) return;
      acked = true;
      await envelope.ack(
        typeof response === "string" ? { text: response } : (response as Record<string, unknown> | undefined),
      );
    };
    const app = this.app;
    if (app === undefined || typeof envelope.body !== "object" || envelope.body === null) {
      await ack();
      return;
    }
    const event: ReceiverEvent = {
      body: envelope.body as Record<string, unknown>,
      ack,
      ...(envelope.retry_num !== undefined ? { retryNum: envelope.retry_num } : {}),
      ...(envelope.retry_reason !== undefined ? { retryReason: envelope.retry_reason } : {}),
      customProperties: { [ANSWERED]: () => acked },
    };
    try {
      await app.processEvent(event);
    } catch (err) {
      log.error({ err, type: envelope.type }, "Slack listener failed before answering");
    } finally {
      // Whatever happened, Slack must not re-deliver it: answered now, with nothing.
      if (!acked) await ack();
    }
  }
}

/** The Socket Mode client's logger interface over pino; its chatter stays at debug. */
function socketLogger(log: Logger): SocketLogger {
  const text = (msg: unknown[]): string => msg.map((m) => (typeof m === "string" ? m : String(m))).join(" ");
  let level = "info";
  return {
    debug: (...msg: unknown[]) => log.debug(text(msg)),
    info: (...msg: unknown[]) => log.debug(text(msg)),
    warn: (...msg: unknown[]) => log.warn(text(msg)),
    error: (...msg: unknown[]) => log.error(text(msg)),
    setLevel: (l: unknown) => {
      level = String(l);
    },
    getLevel: () => level as never,
    setName: () => undefined,
  };
}
