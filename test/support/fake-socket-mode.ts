/**
 * Slack's Socket Mode endpoint, faked on a local WebSocket server: the fake Web API's
 * `apps.connections.open` hands out `ws://127.0.0.1:…` URLs to it; each connection gets `hello`,
 * then envelopes (`events_api`, `interactive`, `slash_commands`) with an `envelope_id`; the bot
 * acks each by sending `{ envelope_id, payload? }` back; `disconnect` with `refresh_requested`
 * asks a client to move to a new connection, as Slack does before recycling one.
 */
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import type { FakeSlack } from "./fake-slack.ts";

export interface Ack {
  readonly envelope_id: string;
  readonly payload?: Record<string, unknown>;
}

export type EnvelopeType = "events_api" | "interactive" | "slash_commands";

export class FakeSocketMode {
  private readonly server: WebSocketServer;
  private readonly sockets = new Set<WebSocket>();
  private readonly waiting = new Map<string, (ack: Ack) => void>();
  /** Every ack received, in order. */
  readonly acks: Ack[] = [];
  /** The app-level tokens clients connected with (from `apps.connections.open`). */
  opened = 0;

  private constructor(server: WebSocketServer) {
    this.server = server;
    server.on("connection", (ws) => {
      this.sockets.add(ws);
      ws.on("close", () => this.sockets.delete(ws));
      ws.on("message", (data: Buffer) => {
        const ack = JSON.parse(data.toString("utf8")) as Ack;
        this.acks.push(ack);
        this.waiting.get(ack.envelope_id)?.(ack);
        this.waiting.delete(ack.envelope_id);
      });
      ws.send(JSON.stringify({ type: "hello", num_connections: this.sockets.size }));
    });
  }

  /** Starts the server and points `fake`'s `apps.connections.open` at it. */
  static async start(fake: FakeSlack): Promise<FakeSocketMode> {
    const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    const socket = new FakeSocketMode(server);
    const port = (server.address() as AddressInfo).port;
    fake.socketUrl = () => {
      socket.opened += 1;
      return `ws://127.0.0.1:${port}/link/?ticket=${randomUUID()}`;
    };
    return socket;
  }

  /** Open connections. */
  get connections(): number {
    return this.sockets.size;
  }

  /** Waits until `n` clients are connected. */
  async connected(n: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.sockets.size < n) {
      if (Date.now() > deadline) throw new Error(`only ${this.sockets.size} of ${n} Socket Mode connections`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /**
   * Sends one envelope on one connection (the `on`-th, default the first) and resolves with the
   * bot's ack. `envelopeId` lets a test re-deliver the same envelope.
   */
  send(
    type: EnvelopeType,
    payload: Record<string, unknown>,
    o: { on?: number; envelopeId?: string; retryAttempt?: number } = {},
  ): Promise<Ack> {
    const socket = [...this.sockets][o.on ?? 0];
    if (socket === undefined) return Promise.reject(new Error("no Socket Mode connection"));
    const envelopeId = o.envelopeId ?? randomUUID();
    const acked = new Promise<Ack>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`envelope ${envelopeId} was never acked`)), 10_000);
      this.waiting.set(envelopeId, (ack) => {
        clearTimeout(timer);
        resolve(ack);
      });
    });
    socket.send(
      JSON.stringify({
        envelope_id: envelopeId,
        type,
        payload,
        accepts_response_payload: type !== "events_api",
        ...(o.retryAttempt !== undefined ? { retry_attempt: o.retryAttempt, retry_reason: "timeout" } : {}),
      }),
    );
    return acked;
  }

  /**
   * Asks the `on`-th connection to reconnect, as Slack does before recycling it: `refresh_requested`,
   * or `warning` (Slack's notice that the connection will soon be closed).
   */
  refresh(on = 0, reason: "refresh_requested" | "warning" = "refresh_requested"): void {
    [...this.sockets][on]?.send(JSON.stringify({ type: "disconnect", reason, debug_info: { host: "fake" } }));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
