/**
 * A local stand-in for Slack's Web API (Slack cannot be reached from test machines). It records
 * every call — method, arguments, bot token — and answers like Slack does: `chat.postMessage`
 * with a channel and a fresh `ts`, `conversations.open` with a DM channel, `files.getUploadURLExternal`
 * with an upload URL on this same server. It also takes what Slack would: POSTs to `response_url`s
 * and file uploads. `failNext` makes a method fail the way Slack fails (HTTP 429 for `ratelimited`,
 * the bare HTTP status for `http_500`, `http_503`, …, as when Slack itself is down).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { parse as parseQuery } from "node:querystring";

export interface SlackCall {
  /** A Web API method, or `response_url`, or `upload`. */
  readonly method: string;
  readonly args: Record<string, unknown>;
  readonly token: string | undefined;
  /** For `upload`: the bytes as text. */
  readonly content?: string;
  /** When it arrived (`Date.now()`). */
  readonly at: number;
}

export const FAKE_BOT_ID = "B0DBWARD1";
export const FAKE_BOT_USER_ID = "U0DBWARDBOT";
export const FAKE_BOT_TOKEN = "xoxb-1111-2222-fake";
export const FAKE_SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5";

export class FakeSlack {
  readonly calls: SlackCall[] = [];
  /** Every method ever called, across `clear()`s. */
  readonly methodsSeen = new Set<string>();
  private readonly failures = new Map<string, { error: string; left: number }>();
  private server: Server | undefined;
  private seq = 0;
  url = "";
  /** Seconds sent in `Retry-After` with a `ratelimited` failure. */
  retryAfterSeconds = 0;
  /** Off: answer without keeping each call (benchmarks). */
  record = true;
  /** Where `apps.connections.open` sends Socket Mode clients (fake-socket-mode.ts sets it). */
  socketUrl: (() => string) | undefined;

  static async start(): Promise<FakeSlack> {
    const fake = new FakeSlack();
    await fake.listen();
    return fake;
  }

  /** The environment that points a bot at this fake. */
  env(): Record<string, string> {
    return {
      SLACK_SIGNING_SECRET: FAKE_SIGNING_SECRET,
      SLACK_BOT_TOKEN: FAKE_BOT_TOKEN,
      SLACK_API_URL: `${this.url}/api/`,
      SLACK_BOT_ID: FAKE_BOT_ID,
      SLACK_BOT_USER_ID: FAKE_BOT_USER_ID,
    };
  }

  /**
   * The next `times` calls of `method` fail with Slack's `error` (`ratelimited`, `not_in_channel`,
   * …), or with `http_<status>` an HTTP error of that status and no JSON (Slack down).
   */
  failNext(method: string, error: string, times = 1): void {
    this.failures.set(method, { error, left: times });
  }

  responseUrl(): string {
    this.seq += 1;
    return `${this.url}/response/${this.seq}`;
  }

  of(method: string): SlackCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  clear(): void {
    this.calls.length = 0;
  }

  /** Waits until `predicate` holds over the recorded calls, or fails after `timeoutMs`. */
  async waitFor(
    what: string,
    predicate: (calls: readonly SlackCall[]) => boolean,
    timeoutMs = 10_000,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.calls)) {
      if (Date.now() > deadline) {
        throw new Error(`fake Slack never saw ${what}; calls: ${this.calls.map((c) => c.method).join(", ")}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async close(): Promise<void> {
    const s = this.server;
    if (s === undefined) return;
    this.server = undefined;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Listens again on the same address after `close()` (a network outage that ends). */
  async reopen(): Promise<void> {
    await this.listen(Number(new URL(this.url).port));
  }

  private async listen(port = 0): Promise<void> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        res.statusCode = 500;
        res.end(String(err));
      });
    });
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const path = req.url ?? "/";
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (path.startsWith("/response/")) {
      if (this.record)
        this.calls.push({
          method: "response_url",
          args: JSON.parse(raw) as Record<string, unknown>,
          token,
          at: Date.now(),
        });
      res.end("ok");
      return;
    }
    if (path.startsWith("/upload/")) {
      if (this.record)
        this.calls.push({
          method: "upload",
          args: { file_id: path.slice(8) },
          token,
          content: raw,
          at: Date.now(),
        });
      res.end(`OK - ${raw.length}`);
      return;
    }
    const method = path.replace(/^\/api\//, "").split("?")[0] ?? "";
    const args = parseArgs(raw, req.headers["content-type"]);
    if (this.record) this.calls.push({ method, args, token, at: Date.now() });
    this.methodsSeen.add(method);
    const failure = this.failures.get(method);
    if (failure !== undefined && failure.left > 0) {
      failure.left -= 1;
      const status = /^http_(\d{3})$/.exec(failure.error)?.[1];
      if (status !== undefined) {
        res.writeHead(Number(status), { "content-type": "text/plain" });
        res.end("upstream failure");
        return;
      }
      if (failure.error === "ratelimited") {
        res.writeHead(429, {
          "content-type": "application/json",
          "retry-after": String(this.retryAfterSeconds),
        });
      } else {
        res.writeHead(200, { "content-type": "application/json" });
      }
      res.end(JSON.stringify({ ok: false, error: failure.error }));
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(this.answer(method, args)));
  }

  private answer(method: string, args: Record<string, unknown>): Record<string, unknown> {
    this.seq += 1;
    const ts = `1700000000.${String(this.seq).padStart(6, "0")}`;
    const channel =
      typeof args.channel === "string" ? args.channel.replace(/^#.*/, "C0APPROVALS") : "C0UNKNOWN";
    switch (method) {
      case "chat.postMessage":
        return { ok: true, channel, ts, message: { text: args.text, ts } };
      case "chat.update":
        return { ok: true, channel, ts: args.ts, text: args.text };
      case "chat.postEphemeral":
        return { ok: true, message_ts: ts };
      case "conversations.open":
        return { ok: true, channel: { id: `D${String(args.users)}` } };
      case "views.open":
      case "views.update":
      case "views.push":
        return { ok: true, view: { id: `V${this.seq}`, hash: `hash-${this.seq}`, ...(args.view as object) } };
      case "views.publish":
        // Slack refuses a Home tab of more than 100 blocks.
        if (((args.view as { blocks?: unknown[] } | undefined)?.blocks?.length ?? 0) > 100)
          return { ok: false, error: "invalid_arguments" };
        return {
          ok: true,
          view: { id: `VHOME${String(args.user_id)}`, hash: `hash-${this.seq}`, ...(args.view as object) },
        };
      case "files.getUploadURLExternal":
        return { ok: true, upload_url: `${this.url}/upload/F${this.seq}`, file_id: `F${this.seq}` };
      case "files.completeUploadExternal":
        return { ok: true, files: args.files };
      case "apps.connections.open":
        return this.socketUrl === undefined
          ? { ok: false, error: "not_allowed_token_type" }
          : { ok: true, url: this.socketUrl() };
      default:
        return { ok: false, error: "unknown_method" };
    }
  }
}

/** Slack's Web API takes form fields whose nested values are JSON text; JSON bodies too. */
function parseArgs(raw: string, type: string | undefined): Record<string, unknown> {
  if (type?.startsWith("application/json") === true) return JSON.parse(raw) as Record<string, unknown>;
  const form = parseQuery(raw);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(form)) {
    const text = Array.isArray(v) ? v.join(",") : (v ?? "");
    out[k] = /^[[{]/.test(text) ? (JSON.parse(text) as unknown) : text;
  }
  return out;
}
