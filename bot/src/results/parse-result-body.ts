/**
 * Validates an agent's final result call (shared protocol: JobResultBody). Pure: the agent is
 * checked like any other caller (zero trust between components), and anything malformed is
 * `request.invalid` before the store is touched.
 */
import {
  DbwardError,
  JOB_OUTCOMES,
  RESULT_TRUNCATIONS,
  type JobOutcome,
  type JobResultBody,
  type ResultTable,
  type ResultTruncation,
  type StreamedResultSummary,
} from "@dbward/shared";

const invalid = (message: string): DbwardError => new DbwardError("request.invalid", message);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const objectOf = (v: unknown): Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((c) => typeof c === "string");

export function parseResultBody(raw: unknown): JobResultBody {
  const o = objectOf(raw);
  const outcome = o.outcome;
  if (typeof outcome !== "string" || !(JOB_OUTCOMES as readonly string[]).includes(outcome)) {
    throw invalid(`outcome must be one of ${JOB_OUTCOMES.join(", ")}`);
  }
  if (typeof o.duration_ms !== "number" || !Number.isFinite(o.duration_ms) || o.duration_ms < 0) {
    throw invalid("duration_ms must be a non-negative number");
  }
  const body: JobResultBody = { outcome: outcome as JobOutcome, duration_ms: Math.round(o.duration_ms) };
  if (o.result !== undefined) body.result = parseTable(o.result);
  if (o.streamed !== undefined) body.streamed = parseStreamed(o.streamed);
  if (o.affected_rows !== undefined) {
    if (!Number.isSafeInteger(o.affected_rows)) throw invalid("affected_rows must be an integer");
    body.affected_rows = o.affected_rows as number;
  }
  if (o.error !== undefined) {
    const e = objectOf(o.error);
    if (typeof e.code !== "string" || typeof e.message !== "string")
      throw invalid("error must be { code, message }");
    body.error = { code: e.code.slice(0, 100), message: e.message.slice(0, 4000) };
  }
  if (outcome !== "succeeded" && body.error === undefined)
    throw invalid(`an outcome of ${outcome} needs an error`);
  return body;
}

function parseTable(v: unknown): ResultTable {
  const t = objectOf(v);
  const { columns, rows } = t;
  if (!isStrings(columns) || !Array.isArray(rows) || !rows.every((r) => Array.isArray(r))) {
    throw invalid("result must have columns (strings) and rows (arrays)");
  }
  if (!isCount(t.row_count) || typeof t.truncated !== "boolean") {
    throw invalid("result must have row_count and truncated");
  }
  return { columns, rows: rows as unknown[][], row_count: t.row_count, truncated: t.truncated };
}

function parseStreamed(v: unknown): StreamedResultSummary {
  const s = objectOf(v);
  if (!isStrings(s.columns) || !isCount(s.chunks) || !isCount(s.row_count) || !isCount(s.bytes)) {
    throw invalid("streamed must have columns, chunks, row_count and bytes");
  }
  const by = s.truncated_by;
  if (by !== null && !(RESULT_TRUNCATIONS as readonly unknown[]).includes(by)) {
    throw invalid(`streamed.truncated_by must be null or one of ${RESULT_TRUNCATIONS.join(", ")}`);
  }
  return {
    columns: s.columns,
    chunks: s.chunks,
    row_count: s.row_count,
    bytes: s.bytes,
    truncated_by: by as ResultTruncation | null,
  };
}
