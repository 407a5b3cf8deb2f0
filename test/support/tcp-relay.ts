/**
 * A TCP relay in front of a database server, for tests of a connection lost on the wire. `cut()`
 * resets every relayed connection (both sides, as a broken link would); new connections still
 * pass, so a client that reconnects reaches the server again.
 */
import assert from "node:assert/strict";
import { connect, createServer, type Socket } from "node:net";

export interface TcpRelay {
  readonly port: number;
  /** Resets every connection through the relay; the relay keeps accepting new ones. */
  cut(): void;
  close(): Promise<void>;
}

export async function startTcpRelay(upstreamPort: number): Promise<TcpRelay> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(upstreamPort, "127.0.0.1");
    // What happens to one side happens to the other; otherwise a reset upstream leaves the
    // client waiting on a socket that is still open.
    for (const [s, other] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(s);
      s.on("error", () => other.resetAndDestroy());
      s.on("close", () => {
        sockets.delete(s);
        other.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  assert.ok(typeof address === "object" && address !== null, "the relay listens on a TCP port");
  const cut = (): void => {
    for (const s of sockets) s.resetAndDestroy();
  };
  return {
    port: address.port,
    cut,
    close: () => {
      cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
