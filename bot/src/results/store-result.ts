/**
 * Turns what an agent sent into a stored result, before the transaction that records it: rows
 * sent inline (older agents, small results) become chunk 0, the chunks present without a gap
 * are counted against what the agent says it sent, and the first rows become the preview kept
 * in the state store (for Slack and `GET …/result`). Chunks the agent sent but the store lacks
 * make the result `undelivered`: recorded as truncated, never as complete.
 */
import type { JobResultBody, ResultTable, ResultTruncation } from "@dbward/shared";
import { firstChunkFormat } from "./chunk-formats.ts";
import { assertColumnCount } from "./result-chunk.ts";
import { firstRows } from "./result-encoding.ts";
import { toNdjson } from "./ndjson-rows.ts";
import { contiguousChunks, type ResultStore } from "./result-store.ts";

/** Rows and bytes the preview keeps at most. */
export const PREVIEW_ROWS = 100;
const PREVIEW_BYTES = 64 * 1024;

export interface StoredResult {
  readonly columns: string[];
  readonly chunks: number;
  readonly rows: number;
  readonly bytes: number;
  readonly truncatedBy: ResultTruncation | null;
  /** What the agent said it sent, when the store holds less. */
  readonly agentRows: number;
  /** The state store's copy: the first rows, `row_count` the whole result's. */
  readonly preview: ResultTable;
}

export async function storeResult(
  store: ResultStore,
  key: string,
  body: JobResultBody,
): Promise<StoredResult> {
  const inline = body.result;
  if (inline !== undefined && inline.rows.length > 0) {
    await store.putChunk(key, 0, inline.rows.length, toNdjson(inline.rows));
  }
  const have = contiguousChunks(await store.listChunks(key));
  const sent = body.streamed;
  const agentRows = sent?.row_count ?? inline?.rows.length ?? 0;
  const missing = sent !== undefined && (have.count < sent.chunks || have.rows < sent.row_count);
  const truncatedBy = missing
    ? "undelivered"
    : (sent?.truncated_by ?? (inline?.truncated === true ? "rows" : null));
  const columns = sent?.columns ?? inline?.columns ?? [];
  if (sent !== undefined && have.count > 0) await checkColumns(store, key, columns.length);
  const rows = await previewRows(store, key, have.count);
  await store.seal(key);
  return {
    columns,
    chunks: have.count,
    rows: have.rows,
    bytes: have.bytes,
    truncatedBy,
    agentRows,
    preview: { columns, rows, row_count: have.rows, truncated: truncatedBy !== null },
  };
}

/**
 * The preview's rows; none when the stored rows cannot be read back as values. This runs before
 * the transaction that records the execution, so an error here would answer every retry of the
 * agent's result call with a 500 until its lease ran out and a finished read were marked lost:
 * the result is stored and downloads whole, so the record must land, with an empty preview.
 */
async function previewRows(store: ResultStore, key: string, chunks: number): Promise<unknown[][]> {
  try {
    return keepWithin(await firstRows(store.read(key, chunks), PREVIEW_ROWS), PREVIEW_BYTES);
  } catch {
    // Whatever the chunk held (too deep to write again, not what its check let through): the
    // preview is a copy for Slack and `GET …/result`, the execution record is what must not go.
    return [];
  }
}

/**
 * A CSV result's chunk 0 names as many columns as the result declares (throws `request.invalid`
 * otherwise: only a compromised agent sends another). A chunk 0 that cannot be read is left to
 * the preview, which does without it.
 */
async function checkColumns(store: ResultStore, key: string, columns: number): Promise<void> {
  const first = await firstChunkFormat(store, key).catch(() => undefined);
  if (first !== undefined) assertColumnCount(first, columns);
}

function keepWithin(rows: unknown[][], maxBytes: number): unknown[][] {
  let left = maxBytes;
  const kept: unknown[][] = [];
  for (const row of rows) {
    left -= Buffer.byteLength(JSON.stringify(row)) + 1;
    if (left < 0) break;
    kept.push(row);
  }
  return kept;
}
