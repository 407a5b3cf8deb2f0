/**
 * Reading an agent's schema context (SchemaReportBody) for approvers and for risk: which known
 * tables a statement changes, how big they are, and which tables a change to them reaches through
 * foreign keys that cascade (ON DELETE/UPDATE CASCADE, SET NULL, SET DEFAULT), transitively. Pure;
 * the same for the bot's views, its risk scoring and the CLI.
 */
import type { ForeignKeyAction, SchemaTable, TouchedTableView } from "./protocol.ts";
import { codePointLabel } from "./sql/invisible-characters.ts";

/** A table with at least this many estimated rows is large: a write on it, or cascading into it, climbs a risk level. */
export const LARGE_TABLE_ROWS = 1_000_000;

/** Foreign key actions that change the referencing rows (RESTRICT and NO ACTION refuse instead). */
const CHANGING: ReadonlySet<ForeignKeyAction> = new Set(["cascade", "set_null", "set_default"]);

/** A table's key: JSON, so no character of a name (a NUL too) can make two tables one. */
const key = (schema: string, name: string): string => JSON.stringify([schema, name]);
const unkey = (k: string): TableRef => {
  const [schema, name] = JSON.parse(k) as [string, string];
  return { schema, name };
};
const sameTable = (a: TableRef, b: TableRef): boolean => a.schema === b.schema && a.name === b.name;

interface TableRef {
  readonly schema: string;
  readonly name: string;
}

/**
 * The tables `targets` name (lower-case, unqualified, as SqlReview.targets gives them) that the
 * context knows — every schema's table of that name, since an unqualified name may resolve to
 * any — with what a change to each cascades into; a name the context does not know comes back
 * with nothing known of it.
 */
export function touchedTables(
  targets: readonly string[],
  tables: readonly SchemaTable[],
): TouchedTableView[] {
  const referencedBy = new Map<string, { table: SchemaTable; action: ForeignKeyAction }[]>();
  for (const t of tables) {
    for (const fk of t.foreign_keys) {
      const action = CHANGING.has(fk.on_delete) ? fk.on_delete : fk.on_update;
      if (!CHANGING.has(action)) continue;
      const parent = key(fk.references.schema, fk.references.table);
      referencedBy.set(parent, [...(referencedBy.get(parent) ?? []), { table: t, action }]);
    }
  }
  const out: TouchedTableView[] = [];
  for (const target of new Set(targets)) {
    const known = tables.filter((t) => t.name.toLowerCase() === target);
    if (known.length === 0) {
      // Not reported itself (a report cut at MAX_SCHEMA_TABLES keeps the largest, or a schema the
      // agent may not use), yet a reported table's foreign key may name it: what a change to it
      // cascades into is known from those keys, and must not be lost (fail closed on risk).
      const parents = [...referencedBy.keys()]
        .map(unkey)
        .filter((p) => p.name.toLowerCase() === target && !tables.some((t) => sameTable(t, p)));
      if (parents.length === 0)
        out.push({ schema: null, name: target, estimated_rows: null, size_bytes: null, cascades: [] });
      for (const p of parents)
        out.push({
          schema: p.schema,
          name: p.name,
          estimated_rows: null,
          size_bytes: null,
          cascades: cascadesFrom(p, referencedBy),
        });
      continue;
    }
    for (const t of known)
      out.push({
        schema: t.schema,
        name: t.name,
        estimated_rows: t.estimated_rows,
        size_bytes: t.size_bytes,
        cascades: cascadesFrom(t, referencedBy),
      });
  }
  return out;
}

/** Every table a change to `root` reaches through changing foreign keys, breadth first, each once. */
function cascadesFrom(
  root: TableRef,
  referencedBy: ReadonlyMap<string, readonly { table: SchemaTable; action: ForeignKeyAction }[]>,
): TouchedTableView["cascades"] {
  const seen = new Set([key(root.schema, root.name)]);
  const queue: TableRef[] = [root];
  const found: TouchedTableView["cascades"] = [];
  for (let t = queue.shift(); t !== undefined; t = queue.shift()) {
    for (const child of referencedBy.get(key(t.schema, t.name)) ?? []) {
      const k = key(child.table.schema, child.table.name);
      if (seen.has(k)) continue;
      seen.add(k);
      found.push({
        schema: child.table.schema,
        name: child.table.name,
        estimated_rows: child.table.estimated_rows,
        action: child.action,
      });
      queue.push(child.table);
    }
  }
  return found;
}

/**
 * Lower-case names of the tables a write makes risky (SchemaRiskFactors.largeTables): large
 * themselves, or reaching a large table through cascades.
 */
export function largeTablesOf(tables: readonly SchemaTable[], threshold = LARGE_TABLE_ROWS): Set<string> {
  // A size nobody knows (a partitioned parent, a table never analysed) is not shown to be small.
  const large = (rows: number | null): boolean => rows === null || rows >= threshold;
  const names = new Set<string>();
  // Every name a report knows: its tables, and the tables their foreign keys reference (which a
  // cut report may not carry themselves, though a change to them cascades into reported ones).
  const known = [
    ...tables.map((t) => t.name),
    ...tables.flatMap((t) => t.foreign_keys.map((fk) => fk.references.table)),
  ].map((n) => n.toLowerCase());
  for (const touched of touchedTables([...new Set(known)], tables)) {
    if (large(touched.estimated_rows) || touched.cascades.some((c) => large(c.estimated_rows)))
      names.add(touched.name.toLowerCase());
  }
  return names;
}

/** "orders (~1,204,000 rows, 340 MB; cascades into order_items ~5,000,000 rows)" — one line per table for approvers. */
export function describeTouchedTable(t: TouchedTableView): string {
  const name = visibleName(t.schema === null ? t.name : `${t.schema}.${t.name}`);
  if (t.estimated_rows === null && t.size_bytes === null && t.cascades.length === 0)
    return t.schema === null ? `${name} (not in the schema context)` : `${name} (size unknown)`;
  const facts = [rowsText(t.estimated_rows), ...(t.size_bytes === null ? [] : [bytesText(t.size_bytes)])];
  const cascades =
    t.cascades.length === 0
      ? ""
      : `; ${t.cascades
          .slice(0, 5)
          .map(
            (c) =>
              `${c.action === "cascade" ? "cascades into" : `${c.action.replace("_", " ")} in`} ${visibleName(`${c.schema}.${c.name}`)} ${rowsText(c.estimated_rows)}`,
          )
          .join(", ")}${t.cascades.length > 5 ? ` and ${t.cascades.length - 5} more` : ""}`;
  return `${name} (${facts.join(", ")}${cascades})`;
}

/**
 * A name as one line shows it: control characters (a line break, a tab, NUL), which a quoted
 * identifier or a lying report may hold and displaySql leaves as they are, written `⟨U+000A⟩`,
 * so a name cannot add lines (a made-up table with made-up sizes) to what approvers read.
 * Invisible characters are left to displaySql, which every surface applies after this.
 */
export function visibleName(name: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return name.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `⟨${codePointLabel(c.codePointAt(0) ?? 0)}⟩`);
}

function rowsText(rows: number | null): string {
  return rows === null ? "rows unknown" : `~${Math.round(rows).toLocaleString("en-US")} rows`;
}

function bytesText(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 10 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}
