/**
 * Keeps a result submission within the bot's body limit (protocol MAX_RESULT_BODY_BYTES). Rows
 * within the row cap can still be wide (long text, large blobs); rather than have the bot refuse
 * the whole result, and the job end as lost, the agent drops rows from the end and marks the
 * result truncated.
 */
import { MAX_RESULT_BODY_BYTES, type JobResultBody } from "@dbward/shared";

const bytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), "utf8");

export function fitResultBody(body: JobResultBody, maxBytes = MAX_RESULT_BODY_BYTES): JobResultBody {
  const result = body.result;
  if (result === undefined || bytes(body) <= maxBytes) return body;
  const empty = { ...body, result: { ...result, rows: [], row_count: 0, truncated: true } };
  let budget = maxBytes - bytes(empty);
  let keep = 0;
  for (const row of result.rows) {
    // One more byte for the comma between rows.
    const size = bytes(row) + 1;
    if (size > budget) break;
    budget -= size;
    keep += 1;
  }
  const rows = result.rows.slice(0, keep);
  return { ...body, result: { ...result, rows, row_count: rows.length, truncated: true } };
}
