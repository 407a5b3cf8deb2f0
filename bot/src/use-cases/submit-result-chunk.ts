/**
 * An agent sends one chunk of a running execution's result rows (shared protocol: result
 * chunks). Chunks arrive in seq order; one sent again is acknowledged without being stored twice,
 * so the agent can retry a chunk whose answer it never saw. The bot enforces the execution
 * policy's caps itself (zero trust between components): a chunk past the row or byte cap is
 * refused. A chunk is data on its way, not a change of the request: nothing is audited here; the
 * result call that ends the execution records the totals in the audit chain.
 *
 * Progress is proof of life: a stored chunk extends the lease by the margin once less than half
 * of it is left, so a long transfer is not mistaken for a crash. A cancelled request's chunks
 * are not stored, and the answer tells the agent to stop. Chunk 0 may bring the column names
 * (shared result-columns-header.ts), recorded for readers following the result.
 */
import { DbwardError, type RequestId, type ResultChunkResponse } from "@dbward/shared";
import { firstChunkFormat, rememberFirstChunk } from "../results/chunk-formats.ts";
import { assertSameFormat, countChunkRows } from "../results/result-chunk.ts";
import { contiguousChunks } from "../results/result-store.ts";
import { extendRunningLease, recordResultColumns } from "../store/executions-repo.ts";
import { findRequest } from "../store/requests-repo.ts";
import type { BotContext } from "./bot-context.ts";
import { findOwnExecution } from "./heartbeat-job.ts";

/** Highest seq accepted: with 1 MB chunks, about a terabyte. */
const MAX_SEQ = 1_000_000;

export async function submitResultChunk(
  ctx: BotContext,
  agentId: string,
  jobId: string,
  seqText: string,
  body: Buffer,
  columns?: readonly string[],
): Promise<ResultChunkResponse> {
  const seq = Number(seqText);
  if (!/^(0|[1-9][0-9]{0,6})$/.test(seqText) || seq > MAX_SEQ) {
    throw new DbwardError("request.invalid", `chunk seq must be an integer 0-${MAX_SEQ}`);
  }
  const exe = await findOwnExecution(ctx, agentId, jobId);
  if (exe.status !== "running")
    throw new DbwardError("job.lease_lost", `job ${jobId} is ${exe.status}; stop working on it`);
  const stored = contiguousChunks(await ctx.results.listChunks(jobId));
  if (exe.cancel_requested === 1) return { next_seq: stored.count, cancel: true };
  if (seq < stored.count) {
    // A chunk 0 sent again after the bot stored it but went down before it kept the names: kept
    // now (once only), so readers can still follow the result.
    if (seq === 0 && columns !== undefined) await recordResultColumns(ctx.store, jobId, columns);
    return { next_seq: stored.count, cancel: false };
  }
  if (seq > stored.count) {
    throw new DbwardError("job.chunk_out_of_order", `expected chunk ${stored.count}, got ${seq}`, {
      next_seq: stored.count,
    });
  }
  const rows = countChunkRows(body);
  if (seq > 0) {
    const first = await firstChunkFormat(ctx.results, jobId);
    if (first !== undefined) assertSameFormat(first, body);
  }
  const request = await findRequest(ctx.store, exe.request_id as RequestId);
  const rowCap = request?.limits.row_cap ?? ctx.config().execution.row_cap;
  const maxBytes = request?.limits.result_max_bytes ?? ctx.config().execution.result_max_bytes;
  if (stored.rows + rows > rowCap || stored.bytes + body.length > maxBytes) {
    throw new DbwardError(
      "request.too_large",
      `the result would exceed its cap of ${rowCap} rows or ${maxBytes} bytes; stop and report it truncated`,
    );
  }
  await ctx.results.putChunk(jobId, seq, rows, body);
  if (seq === 0) rememberFirstChunk(ctx.results, jobId, body);
  // After the chunk: a reader following the result starts once it knows the names, and then
  // finds chunk 0 there.
  if (seq === 0 && columns !== undefined) await recordResultColumns(ctx.store, jobId, columns);
  // The sweep may have marked the execution lost (and removed its rows, which a lost execution
  // never serves) while this chunk was written: looked at again, so a chunk stored after that
  // removal goes too instead of staying in the result store with nothing to purge it. Only for
  // lost: a retried chunk finishing after its own result landed must not take that result away.
  const after = await findOwnExecution(ctx, agentId, jobId);
  if (after.status === "lost") {
    await ctx.results.remove(jobId);
    throw new DbwardError("job.lease_lost", `job ${jobId} is lost; stop working on it`);
  }
  // A lease with more than half its margin left is not written again: a fast transfer then
  // costs a state write every half margin, not one per chunk, and is never taken for a crash.
  const margin = ctx.config().execution.lease_margin_ms;
  const now = ctx.clock.now().getTime();
  const held = after.lease_expires_at === null ? 0 : Date.parse(after.lease_expires_at);
  if (!(held - now > margin / 2)) {
    await extendRunningLease(ctx.store, jobId, new Date(now + margin).toISOString());
  }
  return { next_seq: seq + 1, cancel: false };
}
