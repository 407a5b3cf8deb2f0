/**
 * `dbward request result <id> --format csv|ndjson|json [-o FILE]`: streams the whole stored
 * result from the bot to a file or standard output, never holding it in memory, with progress on
 * standard error when that is a terminal. A truncated result is said so on standard error.
 *
 * `--follow` asks the bot to wait for the request to run and to send the rows as they are stored
 * (bot/src/use-cases/follow-result.ts); the totals then come as trailers after the last row. A
 * download cut off before its end (the execution failed or was lost, the bot went away) removes
 * the file it was writing: a partial file is never left to be taken for the result.
 */
import { rm } from "node:fs/promises";
import { createWriteStream } from "node:fs";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { Transform, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { isErrorCode, type RequestView, type ResultFormat } from "@dbward/shared";
import { apiClient } from "../api-client.ts";
import { CliError } from "../cli-error.ts";
import { EXIT, exitCodeFor } from "../exit-codes.ts";

export interface DownloadOptions {
  readonly url: string;
  readonly token: string;
  readonly id: number;
  readonly format: ResultFormat;
  /** The file to write; standard output when absent. */
  readonly out?: string | undefined;
  /** Wait for the request to run and write the rows as they are stored (csv or ndjson). */
  readonly follow?: boolean;
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
  const follow = o.follow === true ? "&follow=true" : "";
  const res = await get(
    new URL(`${base}/api/requests/${o.id}/result?format=${o.format}${follow}`),
    o.token,
    base,
  );
  const status = res.statusCode ?? 0;
  if (status < 200 || status > 299) throw await failure(res, status);
  const followed = header(res, "x-dbward-follow") === "true";
  let bytes = 0;
  let shown = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (o.progress.isTTY === true && Date.now() - shown > 200) {
        shown = Date.now();
        o.progress.write(`\r${formatBytes(bytes)} received`);
      }
      done(null, chunk);
    },
  });
  const sink = o.out === undefined ? (o.stdout ?? process.stdout) : createWriteStream(o.out, { mode: 0o600 });
  // A response cut off before its end (the bot stopped, the connection dropped, a followed
  // execution that failed) errors the pipeline ("aborted"), so a partial file is never reported
  // as the whole result, and is removed.
  // Rows whose end nobody can vouch for are not left to be taken for the result.
  const removePartial = async (): Promise<void> => {
    if (o.out !== undefined) await rm(o.out, { force: true });
  };
  try {
    await pipeline(res, counter, sink, { end: o.out !== undefined });
  } catch (err) {
    await removePartial();
    if (o.progress.isTTY === true) o.progress.write("\n");
    throw await cutOff(o, err);
  }
  if (o.progress.isTTY === true) o.progress.write("\n");
  const { rows, truncated } = await (followed ? followedTotals(o, res) : totalsOf(res.headers)).catch(
    async (err: unknown) => {
      await removePartial();
      throw err;
    },
  );
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

interface Totals {
  readonly rows: number;
  readonly truncated: string | null;
}

async function totalsOf(headers: IncomingMessage["headers"]): Promise<Totals> {
  const truncated = header({ headers }, "x-dbward-truncated");
  return {
    rows: Number(header({ headers }, "x-dbward-row-count") ?? "0"),
    truncated: truncated === undefined || truncated === "false" ? null : truncated,
  };
}

/**
 * A followed result's totals come after its rows, as trailers. A proxy may drop trailers (nginx
 * does): then the request itself says them, so a truncated result is never reported whole.
 */
async function followedTotals(o: DownloadOptions, res: IncomingMessage): Promise<Totals> {
  if (header({ headers: res.trailers }, "x-dbward-row-count") !== undefined) return totalsOf(res.trailers);
  const view = await apiClient(o.url, o.token).get<RequestView>(`/api/requests/${o.id}`);
  const exe = view.executions.filter((e) => e.status === "succeeded").at(-1);
  if (exe === undefined) {
    throw new CliError(
      `the bot did not say how request #${o.id}'s result ended; download it again`,
      EXIT.failure,
    );
  }
  return { rows: exe.row_count ?? 0, truncated: exe.result_truncated_by ?? null };
}

/**
 * Why a download stopped before its end: the request's status when the bot can say it (a followed
 * execution that failed, was lost or cancelled), else the transport's error.
 */
async function cutOff(o: DownloadOptions, err: unknown): Promise<CliError> {
  const why = err instanceof Error ? err.message : String(err);
  const removed = o.out === undefined ? "" : `; ${o.out} was removed`;
  try {
    const view = await apiClient(o.url, o.token).get<RequestView>(`/api/requests/${o.id}`);
    if (view.status !== "succeeded" && view.status !== "running") {
      const reason = typeof view.status_reason === "string" ? `: ${view.status_reason}` : "";
      return new CliError(
        `the result did not come whole: request #${o.id} is ${view.status}${reason}${removed}`,
        EXIT.failure,
      );
    }
  } catch {
    // The bot cannot say; the transport's error is all there is.
  }
  return new CliError(
    `the download of request #${o.id}'s result was cut off (${why})${removed}`,
    EXIT.unreachable,
  );
}

function header(res: Pick<IncomingMessage, "headers">, name: string): string | undefined {
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
