/** Plain-text tables for terminals: columns padded to their widest cell, long cells cut. */
const MAX_CELL = 60;

export function cellText(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  const s = typeof value === "object" ? JSON.stringify(value) : String(value);
  const flat = s.replace(/[\r\n\t]+/g, " ");
  return flat.length > MAX_CELL ? `${flat.slice(0, MAX_CELL - 1)}…` : flat;
}

export function formatTable(columns: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = rows.map((r) => columns.map((_, i) => cellText(r[i])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (values: readonly string[]): string =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join(" | ")
      .trimEnd();
  return [line(columns), widths.map((w) => "-".repeat(w)).join("-+-"), ...cells.map(line)].join("\n");
}
