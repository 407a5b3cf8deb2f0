/**
 * Doctor's listen check: can the bot bind `listen.host:listen.port`? The bot refuses to start when
 * it cannot, with Node's own error (`listen EADDRINUSE: address already in use …`), which is
 * reported here word for word. A port held by a dbward bot that answers `/health` is the bot
 * itself running — the usual case when doctor runs beside it — and is not a problem.
 */
import { createServer } from "node:net";
import type { BotConfig } from "@dbward/bot";
import { fail, ok, type Check } from "./check.ts";

const WHAT = "listen address";

export async function checkListen(listen: BotConfig["listen"], doFetch: typeof fetch): Promise<Check[]> {
  const where = `${listen.host.includes(":") ? `[${listen.host}]` : listen.host}:${listen.port}`;
  const err = await tryBind(listen.host, listen.port);
  if (err === undefined) return [ok(WHAT, `${where} is free`)];
  if (err.code === "EADDRINUSE" && (await answersAsBot(`http://${connectable(where)}/health`, doFetch)))
    return [ok(WHAT, `${where} is in use by a running dbward bot (it answers /health)`)];
  return [
    fail(
      WHAT,
      err.message,
      err.code === "EADDRINUSE"
        ? `stop what listens on ${where}, or set listen.port to a free port`
        : `check listen.host (an address of this host) and listen.port (below 1024 needs privileges)`,
    ),
  ];
}

function tryBind(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (err: NodeJS.ErrnoException) => resolve(err));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/** A wildcard address is reached on loopback. */
function connectable(where: string): string {
  return where.replace(/^0\.0\.0\.0:/, "127.0.0.1:").replace(/^\[::\]:/, "[::1]:");
}

async function answersAsBot(url: string, doFetch: typeof fetch): Promise<boolean> {
  try {
    const res = await doFetch(url, { redirect: "error", signal: AbortSignal.timeout(3000) });
    const body = (await res.json()) as { status?: unknown };
    return res.ok && body.status === "ok";
  } catch {
    return false;
  }
}
