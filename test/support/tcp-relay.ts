/**
 * A TCP relay in front of a database server, for tests of a connection lost on the wire; given
 * several upstreams, a round-robin front for bot instances, as a load balancer would be. Each new
 * connection goes to the next upstream in turn; one that refuses it (a killed instance) is passed
 * over for the one after, as a load balancer retries a failed connect, so a client is reset only
 * when no upstream takes it. `cut()` resets every relayed connection (both sides, as a broken link
 * would); new connections still pass, so a client that reconnects reaches a server again.
 * `withholdAnswerTo(request, answer)` lets a matching request reach its upstream and be answered
 * there, but keeps a matching answer from the client: the moment a server dies after doing the
 * work and before its answer is out.
 */
import assert from "node:assert/strict";
import { connect, createServer, type Socket } from "node:net";

export interface TcpRelay {
  readonly port: number;
  /** Connections handed to each upstream so far, in the order the upstreams were given. */
  connections(): readonly number[];
  /** Resets every connection through the relay; the relay keeps accepting new ones. */
  cut(): void;
  /**
   * Arms a one-shot hold: the next answer that matches `answer` (from its first bytes) to a
   * request whose bytes match `request` (on any connection, new or kept alive) is withheld from
   * the client. Answers that do not match pass, and the hold stays armed. Resolves with the index
   * of the upstream whose answer was withheld; that client connection then stays silent until its
   * upstream closes it (kill the upstream).
   */
  withholdAnswerTo(request: RegExp, answer: RegExp): Promise<number>;
  close(): Promise<void>;
}

/**
 * Resets a socket (RST to its peer), or destroys it if its end() is under way. libuv refuses to
 * reset a socket whose shutdown is pending (uv_tcp_close_reset: EINVAL), and on Node 20 that
 * failed reset leaves the socket's handle open but marked closing: nothing ever closes it, and
 * when the process exits it spins at 100% CPU for ever (Environment::CleanupHandles waits on
 * that handle in a loop). The relay ends a socket when its pair ends, so a reset (`cut()`, or the
 * pair's error) can come in that window. Destroyed, the socket closes; its FIN is out already.
 */
function reset(socket: Socket): void {
  if (socket.writableEnded && !socket.writableFinished) socket.destroy();
  else socket.resetAndDestroy();
}

interface Hold {
  readonly request: RegExp;
  readonly answer: RegExp;
  readonly answered: (index: number) => void;
}

export async function startTcpRelay(upstream: number | readonly number[]): Promise<TcpRelay> {
  const upstreams = typeof upstream === "number" ? [upstream] : [...upstream];
  assert.ok(upstreams.length > 0, "the relay has an upstream");
  const counts = upstreams.map(() => 0);
  const sockets = new Set<Socket>();
  let turn = 0;
  let armed: Hold | undefined;

  /** Relays src into dst with backpressure, or drops what src sends once `drop()` says so. */
  const relay = (src: Socket, dst: Socket, drop: (chunk: Buffer) => boolean): void => {
    src.on("data", (chunk: Buffer) => {
      if (drop(chunk) || dst.destroyed) return;
      if (!dst.write(chunk)) {
        src.pause();
        dst.once("drain", () => src.resume());
      }
    });
    src.on("end", () => dst.end());
  };

  const splice = (client: Socket, server: Socket, index: number): void => {
    counts[index] = (counts[index] ?? 0) + 1;
    // What happens to one side happens to the other; otherwise a reset upstream leaves the
    // client waiting on a socket that is still open.
    for (const [s, other] of [
      [client, server],
      [server, client],
    ] as const) {
      sockets.add(s);
      s.on("error", () => reset(other));
      s.on("close", () => {
        sockets.delete(s);
        other.destroy();
      });
    }
    if (client.destroyed) server.destroy();
    // The hold this connection's request in flight matched; its answer decides.
    let pending: Hold | undefined;
    let withholding = false;
    relay(client, server, (chunk) => {
      if (armed?.request.test(chunk.toString("latin1")) === true) pending = armed;
      return false;
    });
    relay(server, client, (chunk) => {
      if (pending !== undefined && !withholding) {
        if (pending === armed && pending.answer.test(chunk.toString("latin1"))) {
          withholding = true;
          armed = undefined;
          pending.answered(index);
        }
        pending = undefined;
      }
      return withholding;
    });
    client.resume();
  };

  const server = createServer((client) => {
    // Nothing is read until an upstream has taken the connection: bytes sent into one that
    // refused it would be lost.
    client.pause();
    client.on("error", () => client.destroy());
    const first = turn;
    turn = (turn + 1) % upstreams.length;
    const attempt = (tried: number): void => {
      if (client.destroyed) return;
      if (tried === upstreams.length) return void reset(client);
      const index = (first + tried) % upstreams.length;
      const s = connect(upstreams[index] ?? 0, "127.0.0.1");
      const refused = (): void => attempt(tried + 1);
      s.once("error", refused);
      s.once("connect", () => {
        s.off("error", refused);
        splice(client, s, index);
      });
    };
    attempt(0);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  assert.ok(typeof address === "object" && address !== null, "the relay listens on a TCP port");
  const cut = (): void => {
    for (const s of sockets) reset(s);
  };
  return {
    port: address.port,
    connections: () => [...counts],
    cut,
    withholdAnswerTo: (request, answer) =>
      new Promise((resolve) => {
        armed = { request, answer, answered: resolve };
      }),
    close: () => {
      cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
