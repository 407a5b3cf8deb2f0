/**
 * Following a result while it is stored (`GET /api/requests/:id/result?format=csv|ndjson&follow=true`,
 * `dbward request result <id> --follow`): the reader gets the rows as the agent's chunks land,
 * instead of starting once the last one is in.
 *
 * - The caller is authenticated and the result policy applied as for any read (read-result.ts)
 *   before anything else, and both again when the rows start to leave: a reader who waited
 *   while their token was revoked, their account suspended or the policy changed gets the
 *   refusal, not the rows. The read is audited then, with `follow: true`.
 * - Until the request runs (pending approval, approved, dispatched) the reader waits. Streaming
 *   starts once the running execution's chunk 0 brought its column names (the header line
 *   needs them); an execution whose names did not come (no rows yet, an older agent, names too
 *   wide for a header) is streamed once stored, as a plain download.
 * - It follows one execution: chunks are sent in order as they are stored, and the stream ends
 *   when that execution does. Succeeded: its recorded chunk count is sent, then the totals (rows,
 *   bytes, truncation) as HTTP trailers. Any other end (failed, lost, cancelled, timed out) and
 *   the stream is cut off without its last chunk, so the reader cannot take what it got for the
 *   whole result: rows of a write that rolled back, or of a read that broke, were never a result.
 * - JSON is not followed: its head names the row count first.
 *
 * The wait is the state store polled (FOLLOW_POLL_MS while the request runs or is about to,
 * WAIT_POLL_MS while a person decides), so a reader on one instance follows an agent's chunks on
 * another (PostgreSQL state). The route bounds how many readers follow at once.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { isFinalStatus, type RequestId, type ResultTruncation } from "@dbward/shared";
import { collectChunkGarbage } from "../results/collect-chunk-garbage.ts";
import { encodeResult } from "../results/result-encoding.ts";
import { contiguousChunks, type ReadScratch } from "../results/result-store.ts";
import { findExecution, findRequest, listExecutions, type ExecutionRecord } from "../store/requests-repo.ts";
import type { BotContext } from "./bot-context.ts";
import type { UserCaller } from "./caller.ts";
import { auditRead, openResultDownload, readableRequest, type ResultDownload } from "./read-result.ts";

/** How often a running result is looked at for new chunks. */
export const FOLLOW_POLL_MS = 100;
/** How often a request waiting for a person's decision is looked at. */
export const WAIT_POLL_MS = 1000;

export type FollowFormat = "csv" | "ndjson";

/** How a followed result ended, for the trailers. */
export interface FollowEnd {
  readonly row_count: number;
  readonly bytes: number;
  readonly truncated_by: ResultTruncation | null;
}

export type Followed =
  | { readonly kind: "stored"; readonly download: ResultDownload }
  | {
      readonly kind: "following";
      /** Its pieces are valid only until the next is asked for: write each out, flushed, first. */
      readonly body: AsyncIterable<string | Buffer>;
      /** Set once `body` has ended with the execution's success. */
      readonly end: () => FollowEnd | undefined;
    };

/**
 * A succeeded execution ends the stream cleanly only when its stored result is what the stream
 * carried: a result was stored (a late report of success stores none, whatever chunks came
 * before it), with at least the chunks already sent, under the column names the header line
 * took from chunk 0 (an agent that named other columns there than in its result is not believed).
 */
function assertStoredAsStreamed(exe: ExecutionRecord, columns: readonly string[], sent: number): void {
  const stored = exe.result_chunks;
  const declared =
    exe.result_json === null ? undefined : (JSON.parse(exe.result_json) as { columns?: unknown }).columns;
  const why =
    stored === null
      ? "no result was stored"
      : stored < sent
        ? `it stored ${stored} chunks, fewer than were sent`
        : JSON.stringify(declared) !== JSON.stringify(columns)
          ? "its result names other columns than its first chunk did"
          : undefined;
  if (why !== undefined) {
    throw new FollowedExecutionEnded(
      `execution ${exe.number} succeeded, but ${why}: the rows sent are not its result`,
    );
  }
}

/**
 * The followed execution ended without a result. Never an answer (the response has begun): the
 * route cuts the stream off, and the reader asks the request how it ended.
 */
export class FollowedExecutionEnded extends Error {}

/**
 * `caller` is who the request was authenticated as; `reauthenticate` authenticates it again,
 * for when the rows start to leave after a wait.
 */
export async function followResult(
  ctx: BotContext,
  caller: UserCaller,
  reauthenticate: () => Promise<UserCaller>,
  id: RequestId,
  format: FollowFormat,
  signal: AbortSignal,
): Promise<Followed> {
  await readableRequest(ctx, caller, id);
  for (;;) {
    const request = await findRequest(ctx.store, id);
    if (request === undefined || isFinalStatus(request.status)) {
      return { kind: "stored", download: await openResultDownload(ctx, await reauthenticate(), id, format) };
    }
    const exe = (await listExecutions(ctx.store, id)).at(-1);
    if (exe?.status === "running" && exe.result_columns !== null) {
      return following(ctx, await reauthenticate(), id, format, exe, signal);
    }
    const pause = request.status === "pending_approval" ? WAIT_POLL_MS : FOLLOW_POLL_MS;
    await sleep(pause, undefined, { signal });
  }
}

async function following(
  ctx: BotContext,
  caller: UserCaller,
  id: RequestId,
  format: FollowFormat,
  exe: ExecutionRecord,
  signal: AbortSignal,
): Promise<Followed> {
  const columns = JSON.parse(exe.result_columns ?? "[]") as string[];
  await readableRequest(ctx, caller, id);
  await auditRead(
    ctx,
    caller,
    id,
    exe,
    format,
    contiguousChunks(await ctx.results.listChunks(exe.id)).rows,
    true,
  );
  let end: FollowEnd | undefined;
  const head = {
    request_id: id,
    execution: exe.number,
    duration_ms: 0,
    columns,
    row_count: 0,
    truncated: false,
    truncated_by: null,
    bytes: 0,
    expires_at: null,
  };
  // The reader writes each piece out, flushed, before it asks for the next (follow-download.ts).
  const scratch: ReadScratch = { buffer: Buffer.alloc(0) };
  async function* chunks(): AsyncGenerator<Buffer> {
    let next = 0;
    for (;;) {
      const now = await findExecution(ctx.store, exe.id);
      if (now === undefined || (now.status !== "running" && now.status !== "succeeded")) {
        throw new FollowedExecutionEnded(
          `execution ${exe.number} of request #${id} ended ${now?.status ?? "removed"}: the rows sent so far are not a result`,
        );
      }
      const status = now.status;
      if (status === "succeeded") assertStoredAsStreamed(now, columns, next);
      // Once it succeeded, its recorded chunks are the result; while it runs, what is stored.
      const upTo =
        status === "succeeded"
          ? (now.result_chunks ?? 0)
          : contiguousChunks(await ctx.results.listChunks(exe.id)).count;
      if (upTo > next) {
        for await (const chunk of ctx.results.read(exe.id, upTo, next, scratch)) {
          yield chunk;
          next += 1;
          // While chunks still come in, the chunk route's collection after each one frees what
          // this read left too; a second one per chunk can catch the chunk being received alive
          // twice, which moves it to the old generation (bot peak at a million rows: 154-157 MB
          // with it, 142-152 without). Once the execution has ended, nothing else collects.
          if (status === "succeeded") collectChunkGarbage();
        }
      }
      if (status === "succeeded") {
        end = {
          row_count: now.row_count ?? 0,
          bytes: now.result_bytes ?? 0,
          truncated_by: now.result_truncated_by,
        };
        return;
      }
      await sleep(FOLLOW_POLL_MS, undefined, { signal });
    }
  }
  return { kind: "following", body: encodeResult(format, head, chunks()), end: () => end };
}
