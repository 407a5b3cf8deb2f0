/**
 * A query result for Slack: the first rows as a monospace table small enough for one message,
 * and the whole result as CSV (RFC 4180) for the file upload. Values are shown as the agent sent
 * them; only the table view shortens long cells and flattens line breaks.
 */
import type { ResultView } from "@dbward/shared";
import { truncate } from "../slack-text.ts";
import { runAgainButtons } from "./approval-message.ts";
import { LIMITS, context, section, type Block, type SlackMessage } from "./blocks.ts";

export interface TableOptions {
  readonly maxRows: number;
  /** Widest a column may be, in characters. */
  readonly maxCellWidth?: number;
  /** Most characters the whole table may take. */
  readonly maxChars?: number;
}

export function formatTable(
  columns: readonly string[],
  rows: readonly (readonly unknown[])[],
  o: TableOptions,
): { text: string; shownRows: number } {
  const width = o.maxCellWidth ?? 40;
  const budget = o.maxChars ?? LIMITS.preformatted;
  const cells = (row: readonly unknown[]): string[] =>
    columns.map((_c, i) => truncate(cellText(row[i]).replace(/[\r\n\t]+/g, " "), width));
  const body = rows.slice(0, o.maxRows).map(cells);
  const head = columns.map((c) => truncate(c, width));
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? "").length)));
  const line = (r: readonly string[]): string =>
    r
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join(" | ")
      .trimEnd();
  const lines = [line(head), widths.map((w) => "-".repeat(w)).join("-+-")];
  let shownRows = 0;
  for (const r of body) {
    const next = line(r);
    if (lines.join("\n").length + next.length + 1 > budget) break;
    lines.push(next);
    shownRows += 1;
  }
  return { text: lines.join("\n"), shownRows };
}

/** The whole result as CSV: CRLF line ends, fields quoted when they must be, NULL as empty. */
export function toCsv(columns: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const field = (v: unknown): string => {
    const t = v === null || v === undefined ? "" : cellText(v);
    return /[",\r\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
  };
  return [columns, ...rows].map((r) => r.map(field).join(",")).join("\r\n") + "\r\n";
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return "NULL";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  return JSON.stringify(v);
}

/**
 * The DM with the first rows; the CSV upload follows it. `runAgain` adds the Run again button,
 * for the requester's copy only: the same result also goes to whoever the result policy names
 * (issue 13).
 */
export function resultMessage(
  result: ResultView,
  maxRows: number,
  o: { readonly runAgain?: boolean } = {},
): SlackMessage {
  const rows = result.row_count;
  const head = `*Result of request #${result.request_id}*: ${rows} row${rows === 1 ? "" : "s"} in ${result.duration_ms} ms`;
  const again = o.runAgain === true ? [runAgainButtons(result.request_id)] : [];
  if (result.columns.length === 0) {
    return { text: head.replace(/\*/g, ""), blocks: [section(head), ...again] };
  }
  const table = formatTable(result.columns, result.rows, { maxRows });
  const notes: string[] = [];
  if (table.shownRows < result.rows.length) {
    notes.push(
      `Showing the first ${table.shownRows} of ${result.rows.length} rows; all of them are in the CSV file.`,
    );
  }
  if (result.truncated) {
    notes.push(`The agent stopped at its row cap: the database had more than ${rows} rows.`);
  }
  const blocks: Block[] = [
    section(head),
    {
      type: "rich_text",
      elements: [{ type: "rich_text_preformatted", elements: [{ type: "text", text: table.text }] }],
    },
    ...(notes.length > 0 ? [context(notes.join(" "))] : []),
    ...again,
  ];
  return { text: `Result of request #${result.request_id}: ${rows} rows`, blocks };
}
