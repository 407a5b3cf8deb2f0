/**
 * A real webhook receiver for tests: an HTTP server on 127.0.0.1 that keeps every request (raw
 * body and headers) and answers as the test scripts it — a status, a redirect, or no answer.
 */
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedHook {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The body exactly as it arrived (signatures are over these bytes). */
  readonly body: string;
}

export type Reply = { readonly status: number; readonly headers?: Record<string, string> } | "hang";

export interface WebhookReceiver {
  readonly url: string;
  readonly port: number;
  readonly received: ReceivedHook[];
  /** Waits until `n` requests arrived (bounded; fails the test with what did arrive). */
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedHook[]>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(
  reply: (hook: ReceivedHook, index: number) => Reply = () => ({ status: 204 }),
): Promise<WebhookReceiver> {
  const received: ReceivedHook[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const hook = {
        path: req.url ?? "/",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      received.push(hook);
      const answer = reply(hook, received.length - 1);
      if (answer === "hang") return;
      res.writeHead(answer.status, answer.headers).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    received,
    async waitFor(n, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < n) {
        if (Date.now() > deadline) {
          throw new Error(
            `expected ${n} webhook requests, got ${received.length}: ${received.map((r) => r.body).join("\n")}`,
          );
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      return received.slice(0, n);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
