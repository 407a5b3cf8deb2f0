/**
 * The Node HTTP server around the Express app, with the timeouts and caps of `http:` in the bot
 * config (SECURITY.md: resource exhaustion before auth — slow bodies are cut off, connections
 * are capped). Read at start; a reload does not change them.
 *
 * - `headersTimeout`, `requestTimeout`: a client slower than these gets 408 and is closed. Node
 *   checks them on a timer (`connectionsCheckingInterval`, 30 s by default), so the interval is
 *   derived from the shorter timeout: a slow client is cut within a quarter of it, at most 1 s late.
 * - `keepAliveTimeout`: an idle connection between requests is closed after it.
 * - `maxConnections`: past it, Node closes a new connection as soon as it is accepted.
 */
import { createServer, type RequestListener, type Server } from "node:http";
import type { HttpConfig } from "../config/operations-config.ts";

export function checkingIntervalMs(http: HttpConfig): number {
  const shorter = Math.min(http.headers_timeout_ms, http.request_timeout_ms);
  return Math.max(25, Math.min(1000, Math.floor(shorter / 4)));
}

export function createHttpServer(app: RequestListener, http: HttpConfig): Server {
  const server = createServer(
    {
      headersTimeout: http.headers_timeout_ms,
      requestTimeout: http.request_timeout_ms,
      keepAliveTimeout: http.keep_alive_timeout_ms,
      connectionsCheckingInterval: checkingIntervalMs(http),
    },
    app,
  );
  server.maxConnections = http.max_connections;
  return server;
}

/** Listens on `host:port`; a port already taken rejects instead of throwing later. */
export function listen(server: Server, host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve(server);
    });
  });
}
