/**
 * Resource exhaustion before authentication (SECURITY.md), against a real `dbward bot` process
 * whose memory is read from /proc/<pid>/status: no body is read before its caller is known, a
 * declared body past the route's limit is refused before it is sent, slow clients are cut off at
 * the request timeout, and connections are capped. The clients are raw sockets and
 * `http.request`, so the test decides exactly which bytes go out and when.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { freePort, killAllProcesses, startBotProcess, token, type Proc } from "./support/processes.ts";
import { BODY_LIMITS } from "../bot/src/http/body-limits.ts";

const ADMIN = token("dbw_");
const AGENT = token("dbwa_");
const REQUEST_TIMEOUT_MS = 1500;
const MAX_CONNECTIONS = 24;
const MB = 1024 * 1024;

function botConfig(port: number): string {
  return `
listen: { host: 127.0.0.1, port: ${port} }
databases: [{ name: shop, dialect: postgres, environments: [staging] }]
workflows: [{ name: reads-auto, operations: [read], auto_approve: always }]
users: [{ id: root, name: Root, roles: [admin] }]
agents: [{ id: agent-1 }]
http:
  headers_timeout_ms: 1000
  request_timeout_ms: ${REQUEST_TIMEOUT_MS}
  keep_alive_timeout_ms: 500
  max_connections: ${MAX_CONNECTIONS}
  # Failed logins are not what this suite measures: the per-address limit must not answer first.
  rate_limits: { auth_failures: { burst: 100000, per_minute: 100000 } }
`;
}

/** kB → bytes, of one `VmHWM:` / `VmRSS:` line. */
function memoryOf(pid: number, field: "VmHWM" | "VmRSS"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1];
  assert.ok(kb !== undefined, `no ${field} in /proc/${pid}/status`);
  return Number(kb) * 1024;
}

interface Sent {
  status: number | undefined;
  /** Body bytes written before the answer came or the connection closed. */
  written: number;
}

/**
 * POSTs `size` bytes of valid JSON in 64 KB writes, with or without a Content-Length, and stops
 * writing once the answer is in. A connection closed under the writes is not an error here.
 */
function postLarge(port: number, path: string, size: number, chunked: boolean): Promise<Sent> {
  return new Promise((resolve) => {
    const sent: Sent = { status: undefined, written: 0 };
    const req = request({
      host: "127.0.0.1",
      port,
      method: "POST",
      path,
      headers: {
        "content-type": "application/json",
        ...(chunked ? { "transfer-encoding": "chunked" } : { "content-length": String(size) }),
      },
    });
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      req.destroy();
      resolve(sent);
    };
    req.on("response", (res) => {
      sent.status = res.statusCode;
      res.resume();
      finish();
    });
    req.on("error", finish);
    req.on("close", finish);
    // {"pad":"xxx…x"}: `size` bytes in all.
    const opening = Buffer.from('{"pad":"');
    const closing = Buffer.from('"}');
    const piece = Buffer.alloc(64 * 1024, "x");
    let padLeft = size - opening.length - closing.length;
    const next = (): Buffer | undefined => {
      if (sent.written === 0) return opening;
      if (padLeft > 0) {
        const part = padLeft >= piece.length ? piece : piece.subarray(0, padLeft);
        padLeft -= part.length;
        return part;
      }
      return sent.written < size ? closing : undefined;
    };
    const write = (): void => {
      for (let part = next(); !done && part !== undefined; part = next()) {
        sent.written += part.length;
        if (!req.write(part)) {
          req.once("drain", write);
          return;
        }
      }
      if (!done) req.end();
    };
    write();
  });
}

/** Opens a raw connection and resolves once it is up. */
function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
}

/** Everything the server sends until it closes the connection, and when it closed; fails after `withinMs`. */
function untilClosed(s: Socket, withinMs: number): Promise<{ text: string; closedAt: number }> {
  return new Promise((resolve, reject) => {
    setTimeout(() => reject(new Error(`still open after ${withinMs} ms`)), withinMs).unref();
    let text = "";
    s.on("data", (d: Buffer) => (text += d.toString("latin1")));
    s.on("error", () => undefined);
    s.on("close", () => resolve({ text, closedAt: Date.now() }));
  });
}

/** The status line's code of the first answer on `s`, as soon as it arrives; fails after 3 s. */
function firstStatus(s: Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    setTimeout(() => reject(new Error("no answer within 3 s")), 3000).unref();
    let text = "";
    s.on("data", (d: Buffer) => {
      text += d.toString("latin1");
      const code = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
      if (code !== undefined) resolve(Number(code));
    });
    s.on("error", () => undefined);
    s.on("close", () => reject(new Error(`closed without an answer: ${JSON.stringify(text)}`)));
  });
}

function head(path: string, headers: Record<string, string>): string {
  const lines = Object.entries({ host: "127.0.0.1", ...headers }).map(([k, v]) => `${k}: ${v}`);
  return `POST ${path} HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n`;
}

describe("resource exhaustion before authentication", () => {
  const dir = mkdtempSync(join(tmpdir(), "dbward-exhaustion-"));
  let port = 0;
  let bot: Proc;
  before(async () => {
    port = await freePort();
    bot = await startBotProcess(dir, botConfig(port), {
      DBWARD_ADMIN_TOKEN: ADMIN,
      DBWARD_AGENT_TOKEN_AGENT_1: AGENT,
    });
  });
  after(() => {
    killAllProcesses();
    rmSync(dir, { recursive: true, force: true });
  });

  test("sixteen concurrent unauthenticated 15 MB bodies each get 401, and the bot stays below 300 MB", async (t) => {
    const pid = bot.child.pid;
    assert.ok(pid !== undefined);
    const before = memoryOf(pid, "VmRSS");
    // The route with the largest limit; half declare their length, half are chunked.
    const sent = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        postLarge(port, `/api/agent/jobs/job-${i}/result`, 15 * MB, i % 2 === 0),
      ),
    );
    const peak = memoryOf(pid, "VmHWM");
    t.diagnostic(`VmRSS before ${Math.round(before / MB)} MB, VmHWM after ${Math.round(peak / MB)} MB`);
    assert.deepEqual(
      sent.map((s) => s.status),
      Array.from({ length: 16 }, () => 401),
    );
    assert.ok(
      peak < 300 * MB,
      `peak RSS ${Math.round(peak / MB)} MB (before: ${Math.round(before / MB)} MB)`,
    );
  });

  test("a wrong agent token with a 15 MB Content-Length gets 401 before a byte of the body is sent", async () => {
    const s = await open(port);
    const started = Date.now();
    s.write(
      head("/api/agent/jobs/job-1/result", {
        authorization: "Bearer dbwa_wrong",
        "content-length": String(15 * MB),
        "content-type": "application/json",
      }),
    );
    assert.equal(await firstStatus(s), 401);
    assert.ok(Date.now() - started < 1000, `answered after ${Date.now() - started} ms`);
    s.destroy();
  });

  test("a Content-Length above the route's limit gets 413 before a byte of the body is sent", async () => {
    for (const [path, length] of [
      ["/api/requests", 100 * 1024 + 1],
      ["/api/agent/jobs/job-1/result", 16 * MB + 1],
      // A chunk's rows, and a CSV chunk's head line above them.
      ["/api/agent/jobs/job-1/result/chunks/0", BODY_LIMITS.chunk + 1],
    ] as const) {
      const s = await open(port);
      s.write(
        head(path, {
          authorization: `Bearer ${path.startsWith("/api/agent") ? AGENT : ADMIN}`,
          "content-length": String(length),
          "content-type": "application/json",
        }),
      );
      assert.equal(await firstStatus(s), 413, path);
      s.destroy();
    }
  });

  test("an authenticated body sent one byte a second is cut off within the request timeout", async () => {
    const s = await open(port);
    const started = Date.now();
    const closed = untilClosed(s, REQUEST_TIMEOUT_MS * 3);
    s.write(
      head("/api/requests", {
        authorization: `Bearer ${ADMIN}`,
        "content-length": "100",
        "content-type": "application/json",
      }),
    );
    const drip = setInterval(() => s.writable && s.write("{"), 1000);
    const { text, closedAt } = await closed;
    clearInterval(drip);
    assert.match(text, /^HTTP\/1\.1 408 /);
    const took = closedAt - started;
    // Node checks the timeout every quarter of it (http-server.ts), so it is cut within 1.25×.
    assert.ok(
      took >= REQUEST_TIMEOUT_MS - 100 && took < REQUEST_TIMEOUT_MS * 1.25 + 250,
      `cut after ${took} ms`,
    );
  });

  test("connections past max_connections are closed as soon as they are accepted", async () => {
    const sockets = await Promise.all(Array.from({ length: MAX_CONNECTIONS + 8 }, () => open(port)));
    const closed = sockets.map(() => false);
    sockets.forEach((s, i) => {
      s.on("error", () => undefined);
      s.on("close", () => (closed[i] = true));
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const refused = closed.filter(Boolean).length;
    assert.ok(refused >= 8, `${refused} of ${sockets.length} connections closed at once`);
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(health.status, 200);
  });
});
