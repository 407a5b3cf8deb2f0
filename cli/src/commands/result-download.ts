/**
 * `dbward request result <id> --format csv|ndjson|json [-o FILE]`: streams the whole stored
 * result from the bot to a file or standard output, never holding it in memory, with progress on
 * standard error when that is a terminal. A truncated result is said so on standard error.
 */
import { createWriteStream } from "node:fs";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { Transform, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { isErrorCode, type ResultFormat } from "@dbward/shared";
import { CliError } from "../cli-error.ts";
import { EXIT, exitCodeFor } from "../exit-codes.ts";

export interface DownloadOptions {
  readonly url: string;
  readonly token: string;
  readonly id: number;
  readonly format: ResultFormat;
  /** The file to write; standard output when absent. */
  readonly out?: string | undefined;
  /** Where progress and notes go (standard error). */
  readonly progress: { write(text: string): void; readonly isTTY?: boolean };
  readonly stdout?: Writable;
}

export interface DownloadSummary {
  readonly bytes: number;
  readonly rows: number;
  readonly truncated: string | null;
}

export async function downloadResult(o: DownloadOptions): Promise<DownloadSummary> {
  const base = o.url.replace(/\/+$/, "");
  const res = await get(new URL(`${base}/api/requests/${o.id}/result?format=${o.format}`), o.token, base);
  const status = res.statusCode ?? 0;
  if (status < 200 || status > 299) throw await failure(res, status);
  const rows = Number(header(res, "x-dbward-row-count") ?? "0");
  const truncatedHeader = header(res, "x-dbward-truncated");
  const truncated = truncatedHeader === undefined || truncatedHeader === "false" ? null : truncatedHeader;
  let bytes = 0;
  let shown = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (o.progress.isTTY === true && Date.now() - shown > 200) {
        shown = Date.now();
        o.progress.write(`\r${formatBytes(bytes)} received (${rows.toLocaleString("en")} rows)`);
      }
      done(null, chunk);
    },
  });
  const sink = o.out === undefined ? (o.stdout ?? process.stdout) : createWriteStream(o.out, { mode: 0o600 });
  // A response cut off before its end (the bot stopped, the connection dropped) errors the
  // pipeline ("aborted"), so a partial file is never reported as the whole result.
  await pipeline(res, counter, sink, { end: o.out !== undefined });
  if (o.progress.isTTY === true) o.progress.write("\n");
  const where = o.out === undefined ? "" : ` to ${o.out}`;
  o.progress.write(`${rows.toLocaleString("en")} rows, ${formatBytes(bytes)} written${where}\n`);
  if (truncated !== null) {
    o.progress.write(
      `warning: the result is truncated (${describeTruncation(truncated)}); it is not the whole answer\n`,
    );
  }
  return { bytes, rows, truncated };
}

/**
 * The GET of the result over node:http(s) itself rather than fetch: the body goes from the socket
 * to the file with backpressure and no web-stream layer, which made a 60 MB download several times
 * slower than curl and held tens of megabytes in its queues.
 */
function get(url: URL, token: string, base: string): Promise<IncomingMessage> {
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { authorization: `Bearer ${token}` } }, resolve);
    req.on("error", (err) =>
      reject(new CliError(`cannot reach the bot at ${base}: ${err.message}`, EXIT.unreachable)),
    );
    req.end();
  });
}

function header(res: IncomingMessage, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function describeTruncation(by: string): string {
  if (by === "rows") return "it reached the execution policy's row cap";
  if (by === "bytes") return "it reached the execution policy's byte cap";
  return "some rows never reached the bot";
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

async function failure(res: IncomingMessage, status: number): Promise<CliError> {
  let parsed: unknown;
  try {
    const parts: Buffer[] = [];
    let size = 0;
    for await (const part of res) {
      size += (part as Buffer).length;
      if (size > 64 * 1024) break; // an error body is small; anything else is not read whole
      parts.push(part as Buffer);
    }
    parsed = JSON.parse(Buffer.concat(parts).toString("utf8"));
  } catch {
    parsed = undefined;
  }
  const e = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = isErrorCode(e?.code) ? e.code : "internal";
  return new CliError(
    `${typeof e?.message === "string" ? e.message : `HTTP ${status}`} (${code})`,
    exitCodeFor(code),
  );
}
