/**
 * `dbward request result <id> --format csv|ndjson|json [-o FILE]`: streams the whole stored
 * result from the bot to a file or standard output, never holding it in memory, with progress on
 * standard error when that is a terminal. A truncated result is said so on standard error.
 */
import { createWriteStream } from "node:fs";
import { Readable, Transform, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
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
  let res: Response;
  try {
    res = await fetch(`${base}/api/requests/${o.id}/result?format=${o.format}`, {
      headers: { authorization: `Bearer ${o.token}` },
    });
  } catch (err) {
    throw new CliError(`cannot reach the bot at ${base}: ${(err as Error).message}`, EXIT.unreachable);
  }
  if (!res.ok || res.body === null) throw await failure(res);
  const rows = Number(res.headers.get("x-dbward-row-count") ?? "0");
  const truncatedHeader = res.headers.get("x-dbward-truncated");
  const truncated = truncatedHeader === null || truncatedHeader === "false" ? null : truncatedHeader;
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
  await pipeline(Readable.fromWeb(res.body as WebReadableStream), counter, sink, {
    end: o.out !== undefined,
  });
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

async function failure(res: Response): Promise<CliError> {
  let parsed: unknown;
  try {
    parsed = await res.json();
  } catch {
    parsed = undefined;
  }
  const e = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = isErrorCode(e?.code) ? e.code : "internal";
  return new CliError(
    `${typeof e?.message === "string" ? e.message : `HTTP ${res.status}`} (${code})`,
    exitCodeFor(code),
  );
}
