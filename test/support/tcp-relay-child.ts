/**
 * One relayed connection whose upstream closes, in a process of its own for
 * test/tcp-relay.test.ts: the relay then ends the client's side, and a reset before that end is
 * out used to leave a socket that made the process spin at 100% CPU when it exited (see `reset`
 * in tcp-relay.ts), so the test's evidence is that this process exits.
 *
 * Usage: node --import tsx test/support/tcp-relay-child.ts <error|cut>
 * - error: the client sends as the upstream closes; the relay's write to the closed upstream
 *   fails, and that error resets the client's side;
 * - cut: `cut()` comes just after the relay has seen the upstream close, from a callback of the
 *   same poll (as a test's `relay.cut()` after an awaited query does).
 * In both, the upstream's FIN and what comes next are there at one poll of the event loop.
 * Prints "done" and exits by itself once everything is closed.
 */
import { connect, createServer, type Socket } from "node:net";
import { startTcpRelay } from "./tcp-relay.ts";

const scenario = process.argv[2];
if (scenario !== "error" && scenario !== "cut") {
  process.stderr.write("usage: tcp-relay-child.ts <error|cut>\n");
  process.exit(2);
}

const accepted: Socket[] = [];
const upstream = createServer((socket) => {
  socket.on("error", () => undefined);
  accepted.push(socket);
});
await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
const address = upstream.address();
if (typeof address !== "object" || address === null) throw new Error("the upstream listens on a TCP port");
const relay = await startTcpRelay(address.port);
const client = connect(relay.port, "127.0.0.1");
client.on("error", () => undefined);
await new Promise((resolve) => client.once("connect", resolve));
while (accepted.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
// Spliced on both sides by now.
await new Promise((resolve) => setTimeout(resolve, 20));

/** Blocks the event loop, so that everything sent meanwhile is there at its next poll. */
const hold = (ms: number): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

// For cut: a second connection, outside the relay, whose bytes arrive after the FIN.
const trigger = createServer((socket) => socket.once("data", () => relay.cut()));
await new Promise<void>((resolve) => trigger.listen(0, "127.0.0.1", resolve));
const triggerAddress = trigger.address();
if (typeof triggerAddress !== "object" || triggerAddress === null) throw new Error("no trigger port");
const pull = connect(triggerAddress.port, "127.0.0.1");
await new Promise((resolve) => pull.once("connect", resolve));
await new Promise((resolve) => setTimeout(resolve, 20));

accepted[0]?.destroy();
if (scenario === "error") client.write("after the upstream closed");
else pull.write("cut now");
hold(50);
await new Promise((resolve) => setTimeout(resolve, 100));
client.destroy();
pull.destroy();
await relay.close();
await new Promise((resolve) => trigger.close(resolve));
await new Promise((resolve) => upstream.close(resolve));
process.stdout.write("done\n");
