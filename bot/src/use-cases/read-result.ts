/**
 * Reading a request's result, under the result policy: the caller must be able to see the request
 * (else it does not exist for them), and be a reader the config names (`results.readers`:
 * `requester`, `role:…`, `group:…`, `user:…`) or hold `result.read_any`. A refusal is audited.
 * Every read is audited too, with the format and the rows it covered.
 *
 * `getResult` answers JSON with at most `limit` rows (a preview when the result is larger);
 * `openResultDownload` streams the whole stored result as CSV, NDJSON or JSON, a chunk at a time.
 * `openStoredResult` is the same stream for the bot's own deliveries (Slack files), which apply
 * their own recipient rules.
 */
import {
  DbwardError,
  type RequestId,
  type ResultFormat,
  type ResultTable,
  type ResultView,
} from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import { matchesSelector } from "../core/approval-decision.ts";
import { collectChunkGarbage } from "../results/collect-chunk-garbage.ts";
import { encodeResult, firstRows } from "../results/result-encoding.ts";
import { contiguousChunks } from "../results/result-store.ts";
import { inTransaction } from "../store/in-transaction.ts";
import {
  findRequest,
  listExecutions,
  type ExecutionRecord,
  type RequestRecord,
} from "../store/requests-repo.ts";
import type { BotContext } from "./bot-context.ts";
import { actorOf, can, type UserCaller } from "./caller.ts";
import { findVisibleRequest } from "./read-requests.ts";
import { recordDenial } from "./record-denial.ts";

/** Rows of the JSON answer when the caller names no `limit`. */
export const DEFAULT_RESULT_ROWS = 1000;

export interface ResultDownload {
  readonly head: Omit<ResultView, "rows">;
  readonly body: AsyncIterable<string | Buffer>;
}

export async function getResult(
  ctx: BotContext,
  caller: UserCaller,
  id: RequestId,
  limit = DEFAULT_RESULT_ROWS,
): Promise<ResultView> {
  const { exe, head } = await readable(ctx, caller, id);
  const rows = await previewRows(ctx, exe, limit);
  await auditRead(ctx, caller, id, exe, "preview", rows.length);
  return { ...head, rows, preview: rows.length < head.row_count };
}

export async function openResultDownload(
  ctx: BotContext,
  caller: UserCaller,
  id: RequestId,
  format: ResultFormat,
): Promise<ResultDownload> {
  const { exe, head } = await readable(ctx, caller, id);
  await auditRead(ctx, caller, id, exe, format, head.row_count);
  return { head, body: encodeResult(format, head, chunksOf(ctx, exe)) };
}

/** The stored result of a request, for the bot's own deliveries; undefined when there is none. */
export async function openStoredResult(
  ctx: BotContext,
  id: RequestId,
  format: ResultFormat,
): Promise<ResultDownload | undefined> {
  const request = await findRequest(ctx.store, id);
  const exe = request === undefined ? undefined : await latestResult(ctx, id);
  if (request === undefined || exe === undefined || exe.result_purged_at !== null) return undefined;
  await assertChunksPresent(ctx, exe, id);
  const head = headOf(request, exe);
  return { head, body: encodeResult(format, head, chunksOf(ctx, exe)) };
}

/** Whether the result policy lets `caller` read results of a request by `requester`. */
export function mayReadResult(ctx: BotContext, caller: UserCaller, requester: string): boolean {
  if (can(caller, "result.read_any")) return true;
  if (caller.user.status !== "active") return false;
  return ctx
    .config()
    .results.readers.some((r) =>
      r === "requester" ? caller.user.id === requester : matchesSelector(caller.user, r),
    );
}

/** The request, when the caller may see it and read its results; a refusal is audited. */
export async function readableRequest(
  ctx: BotContext,
  caller: UserCaller,
  id: RequestId,
): Promise<RequestRecord> {
  const request = await findVisibleRequest(ctx, caller, id);
  if (!mayReadResult(ctx, caller, request.requester)) {
    return recordDenial(ctx, {
      actor: actorOf(caller),
      action: "result.read_refused",
      target: `request:${id}`,
      error: new DbwardError(
        "auth.forbidden",
        "the result policy does not let you read this result; ask its requester or an operator",
      ),
    });
  }
  return request;
}

async function readable(
  ctx: BotContext,
  caller: UserCaller,
  id: RequestId,
): Promise<{ exe: ExecutionRecord; head: Omit<ResultView, "rows"> }> {
  const request = await readableRequest(ctx, caller, id);
  const exe = await latestResult(ctx, id);
  if (exe === undefined) {
    throw new DbwardError(
      "request.not_found",
      `request #${id} has no successful execution yet (it is ${request.status})`,
    );
  }
  if (exe.result_purged_at !== null) {
    throw new DbwardError(
      "result.expired",
      `the result of request #${id} was deleted at ${exe.result_purged_at} (retention); run the request again`,
    );
  }
  await assertChunksPresent(ctx, exe, id);
  return { exe, head: headOf(request, exe) };
}

/**
 * A result recorded as stored whose chunks are gone (a restore without the results directory, a
 * disk cleaned by hand) is no longer available: 410 with what happened, never a 500 half way
 * through a download.
 */
async function assertChunksPresent(ctx: BotContext, exe: ExecutionRecord, id: RequestId): Promise<void> {
  if (exe.result_chunks === null || exe.result_chunks === 0) return;
  const present = contiguousChunks(await ctx.results.listChunks(exe.id)).count;
  if (present >= exe.result_chunks) return;
  throw new DbwardError(
    "result.expired",
    `the result of request #${id} is no longer available: ${exe.result_chunks - present} of its ${exe.result_chunks} stored chunks are missing from the result store; run the request again`,
  );
}

async function latestResult(ctx: BotContext, id: RequestId): Promise<ExecutionRecord | undefined> {
  return (await listExecutions(ctx.store, id)).filter((e) => e.status === "succeeded").at(-1);
}

/** The state store's preview: the first rows, the columns, and `row_count` of the whole result. */
function previewOf(exe: ExecutionRecord): ResultTable {
  if (exe.result_json === null)
    return { columns: [], rows: [], row_count: exe.row_count ?? 0, truncated: false };
  return JSON.parse(exe.result_json) as ResultTable;
}

function headOf(request: RequestRecord, exe: ExecutionRecord): Omit<ResultView, "rows"> {
  const preview = previewOf(exe);
  return {
    request_id: request.id,
    execution: exe.number,
    duration_ms: exe.duration_ms ?? 0,
    columns: preview.columns,
    row_count: exe.result_chunks === null ? preview.rows.length : (exe.row_count ?? 0),
    truncated: exe.result_truncated_by !== null || (exe.result_chunks === null && preview.truncated),
    truncated_by: exe.result_truncated_by,
    bytes: exe.result_bytes ?? 0,
    expires_at: exe.result_expires_at,
  };
}

async function previewRows(ctx: BotContext, exe: ExecutionRecord, limit: number): Promise<unknown[][]> {
  const preview = previewOf(exe);
  if (exe.result_chunks === null || limit <= preview.rows.length) return preview.rows.slice(0, limit);
  return firstRows(ctx.results.read(exe.id, exe.result_chunks), limit);
}

/** A result recorded without chunks (no rows, or before the result store) streams its preview. */
async function* chunksOf(ctx: BotContext, exe: ExecutionRecord): AsyncGenerator<Buffer> {
  if (exe.result_chunks !== null) {
    for await (const chunk of ctx.results.read(exe.id, exe.result_chunks)) {
      yield chunk;
      // Asked for the next chunk, the reader is done with this one (or holds it to send it).
      collectChunkGarbage();
    }
    return;
  }
  const rows = previewOf(exe).rows;
  if (rows.length > 0) yield Buffer.from(rows.map((r) => `${JSON.stringify(r)}\n`).join(""));
}

/**
 * Audited before a byte of the result leaves. A reader following a result is audited when it
 * starts, with `follow: true` and the rows stored by then; the rows it ends up with are the
 * execution's (its `request.finished` event).
 */
export async function auditRead(
  ctx: BotContext,
  caller: UserCaller,
  id: RequestId,
  exe: ExecutionRecord,
  format: ResultFormat | "preview",
  rows: number,
  follow = false,
): Promise<void> {
  await inTransaction(ctx.store, (tx) =>
    appendAudit(
      tx,
      {
        actor: actorOf(caller),
        action: "result.read",
        target: `request:${id}`,
        outcome: "success",
        details: { execution: exe.number, format, rows, ...(follow ? { follow: true } : {}) },
      },
      ctx.clock.now(),
    ),
  );
}
