/**
 * Where a statement uses masked columns other than by showing them: the known bypass of column
 * masking. A read that filters, joins, groups, orders by a masked column or computes over it
 * (`WHERE email LIKE 'a%'`, `ORDER BY ssn`, `GROUP BY`, `PARTITION BY`, `JOIN … ON`, `HAVING`,
 * `CASE`, an aggregate) tells its reader about the values without showing one, so such a read is
 * never auto-approved and the approver is told which column (bot masked-column-review.ts).
 *
 * Fail closed, by name rather than by resolution: a column reference whose last part names a
 * masked column counts wherever it is, qualified or not and whatever table it belongs to, unless
 * it is a bare item of the statement's own output list (which the agent shows masked). An output
 * alias of such an item counts as the column (`SELECT email AS e … ORDER BY e`), and so does an
 * output position (`ORDER BY 1`). What cannot be followed by name makes the answer undeterminable:
 * a text the parser cannot read, a `*` or a whole-row reference (`u`, `(u).email`, `u::text`)
 * anywhere but the output list. Pure; needs the parsers loaded (sql-parsers.ts).
 */
import { collectObjects, isAstObject, type AstObject } from "./ast-walk.ts";
import type { SqlDialect } from "./review.ts";
import { nodeSqlParser, pgParser, type NodeSqlGrammar } from "./sql-parsers.ts";

/** One masked column, names lower-cased, the table unqualified. */
export interface MaskedColumnName {
  readonly table: string;
  readonly column: string;
}

export type MaskedColumnUse =
  | {
      readonly determinable: true;
      /** The relations the statement reads (lower-cased, unqualified; CTE names left out). */
      readonly reads: readonly string[];
      /**
       * The same relations as written, after the parser's own folding (PostgreSQL lower-cases an
       * unquoted name, keeps a quoted one; MySQL keeps the text), with the schema or database
       * they are qualified by (null: none). A name matches a table only exactly, schema and all:
       * `other.orders` or `"Orders"` is not `public.orders`, and may be a view over a masked table.
       */
      readonly relations: readonly { readonly schema: string | null; readonly name: string }[];
      /** `table.column` of each masked column of a table it reads that it uses beyond showing it. */
      readonly uses: readonly string[];
      /** Names of its CTEs and derived tables (subqueries in FROM), lower-cased. */
      readonly derived: readonly string[];
      /** Aliases given to its tables and views (`FROM v AS orders`), lower-cased. */
      readonly aliases: readonly string[];
    }
  | { readonly determinable: false; readonly why: string };

/** What one parser gives for one statement: the names and where each column reference stands. */
interface StatementRefs {
  readonly relations: readonly string[];
  readonly exact: readonly { readonly schema: string | null; readonly name: string }[];
  /** CTE names and derived tables' aliases. */
  readonly derived: readonly string[];
  readonly aliases: readonly string[];
  /** Aliases and CTE names: a one-part reference to one of them is a whole row. */
  readonly rowNames: readonly string[];
  /** Column references outside the output list, each as its parts (`*` for a star). */
  readonly hidden: readonly (readonly string[])[];
  /** Output names (aliases) whose item references a masked-looking name; filled by the caller. */
  readonly outputs: readonly { readonly alias: string | undefined; readonly parts: readonly string[] }[];
}

/** Where `sql` uses the `masked` columns of the tables it reads (see the module comment). */
export function findMaskedColumnUse(
  sql: string,
  dialect: SqlDialect,
  masked: readonly MaskedColumnName[],
): MaskedColumnUse {
  let statements: StatementRefs[] | string;
  try {
    statements = dialect === "postgres" ? postgresRefs(sql) : nodeSqlRefs(sql, dialect);
  } catch (err) {
    statements = `the text cannot be parsed (${err instanceof Error ? err.message : String(err)})`;
  }
  if (typeof statements === "string") return { determinable: false, why: statements };
  const reads = new Set<string>();
  const exact = new Map<string, { schema: string | null; name: string }>();
  const uses = new Set<string>();
  const derived = new Set<string>();
  const aliases = new Set<string>();
  for (const s of statements) {
    for (const a of s.aliases) aliases.add(a);
    for (const r of s.relations) reads.add(r);
    for (const r of s.exact) exact.set(JSON.stringify([r.schema, r.name]), r);
    for (const d of s.derived) derived.add(d);
    const maskedNames = new Set(masked.map((m) => m.column));
    const rowNames = new Set(s.rowNames);
    // An output alias of a masked column, or of anything over one, is that column by another name.
    const aliasOf = new Map<string, string>();
    for (const o of s.outputs) {
      const last = o.parts.at(-1);
      if (o.alias !== undefined && last !== undefined && maskedNames.has(last)) aliasOf.set(o.alias, last);
    }
    for (const parts of s.hidden) {
      const last = parts.at(-1) ?? "*";
      if (last === "*") return { determinable: false, why: "it uses * beyond its output list" };
      if (parts.length === 1 && rowNames.has(last) && !maskedNames.has(last))
        return { determinable: false, why: `it uses the whole row ${last}` };
      const column = maskedNames.has(last) ? last : aliasOf.get(last);
      if (column === undefined) continue;
      for (const m of masked) if (m.column === column) uses.add(`${m.table}.${m.column}`);
    }
  }
  const read = [...reads];
  return {
    determinable: true,
    reads: read,
    relations: [...exact.values()],
    derived: [...derived],
    aliases: [...aliases],
    uses: [...uses].filter((u) => read.includes(u.slice(0, u.lastIndexOf(".")))),
  };
}

const lower = (s: string): string => s.toLowerCase();

/** PostgreSQL: libpg-query's tree, every statement of the text. */
function postgresRefs(sql: string): StatementRefs[] | string {
  const parser = pgParser();
  if (parser === undefined) return "the PostgreSQL parser is not loaded";
  const tree = parser.parseSync(sql) as { stmts?: { stmt?: unknown }[] };
  return (tree.stmts ?? []).map((s) => postgresStatement(s.stmt));
}

function postgresStatement(stmt: unknown): StatementRefs {
  const objects = collectObjects(stmt);
  const select = isAstObject(stmt) && isAstObject(stmt.SelectStmt) ? stmt.SelectStmt : undefined;
  // Only a plain SELECT's own list is output; a set operation's arms are compared with each other.
  const targets = select !== undefined && select.op === "SETOP_NONE" ? asArray(select.targetList) : [];
  const shown = new Set<AstObject>();
  const outputs: { alias: string | undefined; parts: string[] }[] = [];
  for (const t of targets) {
    const res = isAstObject(t) && isAstObject(t.ResTarget) ? t.ResTarget : undefined;
    const ref =
      res !== undefined && isAstObject(res.val) && isAstObject(res.val.ColumnRef)
        ? res.val.ColumnRef
        : undefined;
    const alias = typeof res?.name === "string" ? lower(res.name) : undefined;
    if (ref !== undefined) {
      shown.add(ref);
      outputs.push({ alias, parts: pgParts(ref) });
    } else outputs.push({ alias, parts: ["*"] });
  }
  const relations: string[] = [];
  const exact: { schema: string | null; name: string }[] = [];
  const rowNames: string[] = [];
  const aliases: string[] = [];
  const ctes: string[] = [];
  const hidden: string[][] = [];
  const subselects: string[] = [];
  for (const o of objects) {
    if (isAstObject(o.RangeSubselect) && isAstObject(o.RangeSubselect.alias)) {
      const alias = o.RangeSubselect.alias.aliasname;
      if (typeof alias === "string") subselects.push(lower(alias));
    }
    // A RangeVar by its shape: a write's target (`UpdateStmt.relation`, INSERT, DELETE, MERGE)
    // is one without the node wrapper, and its RETURNING reads it like a FROM does.
    if (typeof o.relname === "string" && typeof o.relpersistence === "string") {
      relations.push(lower(o.relname));
      rowNames.push(lower(o.relname));
      exact.push({ schema: typeof o.schemaname === "string" ? o.schemaname : null, name: o.relname });
    }
    if (typeof o.aliasname === "string") {
      rowNames.push(lower(o.aliasname));
      aliases.push(lower(o.aliasname));
    }
    if (typeof o.ctename === "string") ctes.push(lower(o.ctename));
    if (isAstObject(o.ColumnRef) && !shown.has(o.ColumnRef)) hidden.push(pgParts(o.ColumnRef));
  }
  // `ORDER BY 1`, `GROUP BY 2`: an output position stands for that output's column.
  for (const clause of select === undefined
    ? []
    : [select.sortClause, select.groupClause, select.distinctClause]) {
    for (const o of collectObjects(clause)) {
      const value = isAstObject(o.A_Const) && isAstObject(o.A_Const.ival) ? o.A_Const.ival.ival : undefined;
      if (typeof value === "number") hidden.push(outputs[value - 1]?.parts ?? ["*"]);
    }
  }
  return {
    relations: relations.filter((r) => !ctes.includes(r)),
    exact: exact.filter((r) => r.schema !== null || !ctes.includes(lower(r.name))),
    derived: [...ctes, ...subselects],
    aliases,
    rowNames: [...rowNames, ...ctes],
    hidden,
    outputs,
  };
}

function pgParts(ref: AstObject): string[] {
  return asArray(ref.fields).map((f) =>
    isAstObject(f) && isAstObject(f.String) && typeof f.String.sval === "string" ? lower(f.String.sval) : "*",
  );
}

/** MySQL/MariaDB (and SQLite): node-sql-parser's tree; MySQL text must parse in either grammar. */
function nodeSqlRefs(sql: string, dialect: SqlDialect): StatementRefs[] | string {
  const grammars: NodeSqlGrammar[] = dialect === "sqlite" ? ["sqlite"] : ["mysql", "mariadb"];
  let lastError = "no parser is loaded";
  for (const grammar of grammars) {
    const parser = nodeSqlParser(grammar);
    if (parser === undefined) continue;
    try {
      const opt = { database: grammar === "mariadb" ? "MariaDB" : grammar === "sqlite" ? "sqlite" : "MySQL" };
      const ast = parser.astify(sql, opt) as unknown;
      const tables = parser.tableList(sql, opt);
      return (Array.isArray(ast) ? ast : [ast]).map((s) => nodeSqlStatement(s, tables));
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
  }
  return `the text cannot be parsed (${lastError})`;
}

function nodeSqlStatement(stmt: unknown, tables: readonly string[]): StatementRefs {
  const top = isAstObject(stmt) ? stmt : {};
  // A UNION's arms hang off `_next`: then nothing is plain output.
  const columns = top.type === "select" && top._next == null ? asArray(top.columns) : [];
  const shown = new Set<AstObject>();
  const outputs: { alias: string | undefined; parts: string[] }[] = [];
  for (const c of columns) {
    const expr = isAstObject(c) && isAstObject(c.expr) ? c.expr : undefined;
    const alias = isAstObject(c) ? nameText(c.as) : undefined;
    if (expr?.type === "column_ref") {
      shown.add(expr);
      outputs.push({ alias, parts: nodeParts(expr) });
    } else outputs.push({ alias, parts: ["*"] });
  }
  const ctes = asArray(top.with)
    .map((w) => (isAstObject(w) ? nameText(w.name) : undefined))
    .filter(isString);
  const rowNames: string[] = [...ctes];
  const aliases: string[] = [];
  const hidden: string[][] = [];
  const subselects: string[] = [];
  for (const o of collectObjects(stmt)) {
    if (o.type === "column_ref" && !shown.has(o)) hidden.push(nodeParts(o));
    if (isAstObject(o.expr) && "ast" in o.expr && typeof o.as === "string") subselects.push(lower(o.as));
    if (typeof o.table === "string" && "as" in o && typeof o.as === "string") {
      rowNames.push(lower(o.as));
      aliases.push(lower(o.as));
    }
  }
  for (const clause of [top.orderby, isAstObject(top.groupby) ? top.groupby.columns : top.groupby]) {
    for (const o of asArray(clause)) {
      const expr = isAstObject(o) && isAstObject(o.expr) ? o.expr : isAstObject(o) ? o : undefined;
      if (expr?.type === "number" && typeof expr.value === "number")
        hidden.push(outputs[expr.value - 1]?.parts ?? ["*"]);
    }
  }
  const relations = tables
    .map((t) => lower(t.split("::").at(-1) ?? ""))
    .filter((t) => t !== "" && !ctes.includes(t));
  // tableList's entries are `type::database::table`, the database `null` when not written.
  const exact = tables
    .map((t) => t.split("::"))
    .map((p) => ({
      schema: p.length >= 3 && p.at(-2) !== "null" ? (p.at(-2) ?? null) : null,
      name: p.at(-1) ?? "",
    }))
    .filter((r) => r.name !== "" && (r.schema !== null || !ctes.includes(lower(r.name))));
  return { relations, exact, derived: [...ctes, ...subselects], aliases, rowNames, hidden, outputs };
}

function nodeParts(ref: AstObject): string[] {
  const column =
    nameText(ref.column) ??
    (isAstObject(ref.column) && isAstObject(ref.column.expr) ? nameText(ref.column.expr.value) : undefined);
  const table = nameText(ref.table);
  return [...(table === undefined ? [] : [table]), column ?? "*"];
}

function nameText(v: unknown): string | undefined {
  if (typeof v === "string") return lower(v);
  if (isAstObject(v) && typeof v.value === "string") return lower(v.value);
  return undefined;
}

const isString = (x: unknown): x is string => typeof x === "string";

function asArray(v: unknown): readonly unknown[] {
  return Array.isArray(v) ? v : [];
}
