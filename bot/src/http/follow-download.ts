/**
 * The HTTP side of following a result (use-cases/follow-result.ts): `follow=true` beside
 * `format=csv|ndjson`. The response is chunked; its totals, unknown when it starts, come as the
 * trailers `x-dbward-row-count`, `x-dbward-truncated` and `x-dbward-bytes` (declared in
 * `Trailer`, and `x-dbward-follow: true` says to read them). A stream that ends any other way is
 * cut off (no last chunk), which an HTTP client reports as an error, never as a whole body.
 */
import { DbwardError, type RequestId, type ResultFormat } from "@dbward/shared";
import type { Request, Response } from "express";
import { CONTENT_TYPES } from "../results/result-encoding.ts";
import type { BotContext } from "../use-cases/bot-context.ts";
import type { UserCaller } from "../use-cases/caller.ts";
import { followResult, FollowedExecutionEnded, type FollowFormat } from "../use-cases/follow-result.ts";
import type { ResultDownload } from "../use-cases/read-result.ts";

/**
 * Readers following at once, per bot instance: each one polls the state store while it waits,
 * so their number is bounded like the large bodies are; and per person, so that one reader
 * waiting on requests nobody approves cannot take every slot.
 */
export const MAX_FOLLOWERS = 32;
export const MAX_FOLLOWERS_PER_USER = 4;

const TRAILERS = ["x-dbward-row-count", "x-dbward-truncated", "x-dbward-bytes"] as const;

/**
 * Whether the request asks to follow (`follow=true`); anything else but absent is refused, and so
 * is following over HTTP/1.0, which has neither chunked framing nor trailers.
 */
export function followParam(req: Request): boolean {
  const follow = req.query.follow;
  if (follow === undefined) return false;
  if (follow !== "true") throw new DbwardError("request.invalid", "follow must be true, or absent");
  if (req.httpVersionMajor < 1 || (req.httpVersionMajor === 1 && req.httpVersionMinor < 1)) {
    throw new DbwardError("request.invalid", "follow=true needs HTTP/1.1 or later (chunks and trailers)");
  }
  return true;
}

export function followFormat(format: ResultFormat | undefined): FollowFormat {
  if (format === "csv" || format === "ndjson") return format;
  throw new DbwardError(
    "request.invalid",
    "follow=true streams format=csv or format=ndjson; JSON names the row count first, so it waits for the stored result",
  );
}

export class Followers {
  #busy = 0;
  readonly #byUser = new Map<string, number>();

  take(user: string): void {
    const mine = this.#byUser.get(user) ?? 0;
    if (this.#busy >= MAX_FOLLOWERS || mine >= MAX_FOLLOWERS_PER_USER) {
      const who =
        mine >= MAX_FOLLOWERS_PER_USER
          ? `you follow ${mine} results`
          : `this bot has ${this.#busy} readers following results`;
      throw new DbwardError(
        "rate.limited",
        `${who} already; try again in 5 s, or download the stored result`,
        { limit: "followers", retry_after_seconds: 5 },
      );
    }
    this.#busy += 1;
    this.#byUser.set(user, mine + 1);
  }

  give(user: string): void {
    this.#busy -= 1;
    const mine = (this.#byUser.get(user) ?? 1) - 1;
    if (mine === 0) this.#byUser.delete(user);
    else this.#byUser.set(user, mine);
  }
}

export async function sendFollowed(
  ctx: BotContext,
  res: Response,
  caller: UserCaller,
  reauthenticate: () => Promise<UserCaller>,
  id: RequestId,
  format: FollowFormat,
  sendStored: (download: ResultDownload) => Promise<void>,
): Promise<void> {
  // The reader is gone when its response closes, or its connection does: a response queued
  // behind another one on the connection (pipelining) hears nothing of the connection closing,
  // and one whose reader half-closed or reset mid-stream may not have closed yet when the next
  // piece is written, and then that write's callback never comes.
  const gone = new AbortController();
  const hangUp = (): void => gone.abort();
  const socket = res.req.socket;
  res.once("close", hangUp);
  socket.once("close", hangUp);
  if (socket.destroyed) hangUp();
  try {
    let followed;
    try {
      followed = await followResult(ctx, caller, reauthenticate, id, format, gone.signal);
    } catch (err) {
      // The reader hung up while it waited: nobody to answer.
      if (gone.signal.aborted) return;
      throw err;
    }
    if (followed.kind === "stored") return await sendStored(followed.download);
    res.status(200).set({
      "content-type": CONTENT_TYPES[format],
      "content-disposition": `attachment; filename="request-${id}.${format}"`,
      "x-dbward-follow": "true",
      trailer: TRAILERS.join(", "),
    });
    try {
      // Each piece flushed to the socket before the next is read: the pieces share one buffer.
      for await (const piece of followed.body) await writeFlushed(res, piece, gone.signal);
    } catch (err) {
      // A write fails when the reader's socket closes, before or after the response's 'close'.
      const readerGone = gone.signal.aborted || res.destroyed;
      res.destroy();
      // The execution ended without a result, or the reader went: the cut-off stream says it all.
      if (err instanceof FollowedExecutionEnded || readerGone) return;
      throw err;
    }
    const end = followed.end();
    if (end === undefined) {
      res.destroy();
      return;
    }
    res.addTrailers({
      "x-dbward-row-count": String(end.row_count),
      "x-dbward-truncated": end.truncated_by ?? "false",
      "x-dbward-bytes": String(end.bytes),
    });
    res.end();
  } finally {
    // The connection may serve later requests (keep-alive): no listener per follow stays on it.
    socket.off("close", hangUp);
  }
}

/**
 * Writes `piece` and resolves once the socket has taken all of it (the write's callback), so
 * nothing still holds the piece; rejects when the write fails or the reader has gone, whichever
 * comes first (a write to a connection that is ending is queued, and its callback never comes).
 * The caller then destroys the response, which drops a write still queued.
 */
function writeFlushed(res: Response, piece: string | Buffer, gone: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const went = (): void => reject(new Error("the reader went away"));
    if (gone.aborted || res.destroyed) {
      went();
      return;
    }
    gone.addEventListener("abort", went, { once: true });
    res.write(piece, (err) => {
      gone.removeEventListener("abort", went);
      if (err) reject(err);
      else resolve();
    });
  });
}
