/**
 * A small summary of a query plan, for approvers to see a statement's impact before they
 * approve it. The agent runs `EXPLAIN (FORMAT JSON)` (PostgreSQL) or `EXPLAIN FORMAT=JSON`
 * (MySQL, MariaDB) and sends both the raw plan and this summary; the bot shows the summary.
 *
 * The plan is untrusted JSON: it crossed a process boundary and its shape varies by server and
 * version. The walk is total: an unknown shape gives nulls and empty lists, never an exception,
 * and it stops after MAX_PLAN_DEPTH levels or MAX_PLAN_NODES nodes (`truncated` then says so).
 *
 * Estimates only: nothing here ran the statement (never EXPLAIN ANALYZE).
 */

/** Which EXPLAIN dialect a plan is in. MariaDB's plans are read as MySQL's. */
export type PlanEngine = "postgres" | "mysql";

/** The node that adds the most cost of its own to the plan. */
export interface CostliestNode {
  /** PostgreSQL's `Node Type` (`Seq Scan`, `Hash Join`); for MySQL the table's `access_type`. */
  readonly node_type: string;
  /** The table the node reads, as the plan names it (MySQL/MariaDB: its alias), or null. */
  readonly relation: string | null;
  /**
   * The node's own cost in the planner's units: PostgreSQL's `Total Cost` less its children's
   * (costs there include the children's); MySQL's `read_cost + eval_cost` of the table.
   */
  readonly cost: number;
}

/**
 * A scan that reads a whole table: PostgreSQL `Seq Scan`; MySQL/MariaDB `access_type: "ALL"`,
 * and `"index"` (every entry of an index, in index order), which is how MariaDB plans an
 * UPDATE or DELETE that reads the whole table. MySQL's internal temporary tables
 * (`<derived2>`, `<union1,2>`, `<subquery2>`) are not listed: their base tables are.
 */
export interface SequentialScan {
  /** The plan's own word for the scan: `Seq Scan`, `ALL` or `index`. */
  readonly scan: string;
  /** The table, as the plan names it (MySQL/MariaDB: its alias when the statement gives one). */
  readonly relation: string | null;
  /** Rows the planner expects the scan to produce (PostgreSQL) or examine (MySQL), or null. */
  readonly estimated_rows: number | null;
}

/** What an approver sees of a plan. */
export interface PlanSummary {
  readonly engine: PlanEngine;
  /**
   * Rows the planner expects the statement to produce; for PostgreSQL INSERT/UPDATE/DELETE (a
   * `ModifyTable` top node) the rows it feeds to the change, i.e. the rows to be changed. MySQL
   * estimates no result size: this is its top query block's join estimate (the product of each
   * table's rows × filtered), before grouping and LIMIT. Null when the plan does not say.
   */
  readonly estimated_rows: number | null;
  /** The whole plan's cost (PostgreSQL top `Total Cost`, MySQL 8 `query_cost`); null if absent, as on MariaDB 10. */
  readonly total_cost: number | null;
  /** Null when the plan gives no per-node costs (MariaDB 10). */
  readonly costliest_node: CostliestNode | null;
  /** Every whole-table scan anywhere in the plan (subqueries, CTEs, materialisations), in plan order. */
  readonly sequential_scans: readonly SequentialScan[];
  /** True when the plan was bigger than the walk's caps, so later nodes are missing. */
  readonly truncated: boolean;
}

/** Deepest nesting the walk follows. */
export const MAX_PLAN_DEPTH = 100;
/** Most objects the walk visits. */
export const MAX_PLAN_NODES = 10_000;

/**
 * The summary of `plan`, the JSON value EXPLAIN returned (already parsed). Never throws: what
 * the plan does not say (or says in a shape this does not know) is null or left out.
 */
export function summarizePlan(engine: PlanEngine, plan: unknown): PlanSummary {
  switch (engine) {
    case "postgres":
      return finiteOnly(summarizePostgres(plan));
    case "mysql":
      return finiteOnly(summarizeMysql(plan));
  }
}

/**
 * Whether `plan` has the shape EXPLAIN answers with: PostgreSQL's `[{ "Plan": {…} }]`, MySQL's
 * and MariaDB's `{ "query_block": {…} }`. Anything else is not a plan, however it summarises.
 */
export function isPlanShape(engine: PlanEngine, plan: unknown): boolean {
  if (engine === "postgres") return Array.isArray(plan) && isObject(plan[0]) && isObject(plan[0]["Plan"]);
  return isObject(plan) && isObject(plan["query_block"]);
}

/**
 * Products and sums of huge estimates overflow to Infinity (or NaN); JSON cannot carry either,
 * so an estimate that is not a finite number is an unknown one.
 */
function finiteOnly(s: PlanSummary): PlanSummary {
  const finite = (n: number | null): number | null => (n !== null && Number.isFinite(n) ? n : null);
  const node = s.costliest_node;
  return {
    ...s,
    estimated_rows: finite(s.estimated_rows),
    total_cost: finite(s.total_cost),
    costliest_node: node === null || !Number.isFinite(node.cost) ? null : node,
    sequential_scans: s.sequential_scans.map((x) => ({ ...x, estimated_rows: finite(x.estimated_rows) })),
  };
}

type JsonObject = Readonly<Record<string, unknown>>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A finite number, or a numeric string (MySQL 8 writes costs as `"12.50"`). */
function numberAt(node: JsonObject, key: string): number | null {
  const value = node[key];
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "string" && /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(value.trim())) {
    const n = Number(value);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

function stringAt(node: JsonObject, key: string): string | null {
  const value = node[key];
  return typeof value === "string" ? value : null;
}

/** The one plan object: PostgreSQL returns `[{ "Plan": … }]`. */
function pgRoot(plan: unknown): JsonObject | undefined {
  const first: unknown = Array.isArray(plan) ? plan[0] : plan;
  if (!isObject(first)) return undefined;
  const root = first["Plan"];
  return isObject(root) ? root : undefined;
}

function pgChildren(node: JsonObject): JsonObject[] {
  const plans = node["Plans"];
  return Array.isArray(plans) ? plans.filter(isObject) : [];
}

function pgRelation(node: JsonObject): string | null {
  const name = stringAt(node, "Relation Name");
  if (name === null) return null;
  const schema = stringAt(node, "Schema");
  return schema === null ? name : `${schema}.${name}`;
}

function summarizePostgres(plan: unknown): PlanSummary {
  const root = pgRoot(plan);
  const scans: SequentialScan[] = [];
  let costliest: CostliestNode | null = null;
  let truncated = false;
  let visited = 0;
  const stack: { node: JsonObject; depth: number }[] = root === undefined ? [] : [{ node: root, depth: 0 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop() as { node: JsonObject; depth: number };
    if (visited >= MAX_PLAN_NODES || depth > MAX_PLAN_DEPTH) {
      truncated = true;
      continue;
    }
    visited += 1;
    const type = stringAt(node, "Node Type");
    const children = pgChildren(node);
    if (type === "Seq Scan") {
      scans.push({ scan: type, relation: pgRelation(node), estimated_rows: numberAt(node, "Plan Rows") });
    }
    const own = pgOwnCost(node, children);
    if (type !== null && own !== null && (costliest === null || own > costliest.cost)) {
      costliest = { node_type: type, relation: pgRelation(node), cost: own };
    }
    if (children.length > MAX_PLAN_NODES) truncated = true;
    // Reversed onto the stack, so nodes are visited (and scans listed) in plan order.
    for (let i = Math.min(children.length, MAX_PLAN_NODES) - 1; i >= 0; i -= 1) {
      stack.push({ node: children[i] as JsonObject, depth: depth + 1 });
    }
  }
  return {
    engine: "postgres",
    estimated_rows: root === undefined ? null : pgEstimatedRows(root),
    total_cost: root === undefined ? null : numberAt(root, "Total Cost"),
    costliest_node: costliest,
    sequential_scans: scans,
    truncated,
  };
}

/** A node's Total Cost less its children's, never below zero (rounded to the plan's 2 decimals). */
function pgOwnCost(node: JsonObject, children: readonly JsonObject[]): number | null {
  const total = numberAt(node, "Total Cost");
  if (total === null) return null;
  const below = children.reduce((sum, child) => sum + (numberAt(child, "Total Cost") ?? 0), 0);
  return Math.max(0, Math.round((total - below) * 100) / 100);
}

/** ModifyTable estimates 0 rows without RETURNING: the rows it changes are its input's. */
function pgEstimatedRows(root: JsonObject): number | null {
  if (stringAt(root, "Node Type") !== "ModifyTable") return numberAt(root, "Plan Rows");
  const input = pgChildren(root).find((c) => stringAt(c, "Parent Relationship") === "Outer");
  return input === undefined ? numberAt(root, "Plan Rows") : numberAt(input, "Plan Rows");
}

/** A MySQL/MariaDB table entry: an object naming a table and how it is accessed. */
interface MysqlTable {
  readonly relation: string | null;
  readonly accessType: string | null;
  readonly rows: number | null;
  readonly filtered: number | null;
  readonly cost: number | null;
}

function mysqlTable(node: JsonObject): MysqlTable {
  // MySQL 8: rows_examined_per_scan and cost_info; MariaDB: rows (and, from 11.0, cost).
  const rows = numberAt(node, "rows_examined_per_scan") ?? numberAt(node, "rows");
  const info = node["cost_info"];
  let cost: number | null = numberAt(node, "cost");
  if (isObject(info)) {
    const read = numberAt(info, "read_cost");
    const evaluate = numberAt(info, "eval_cost");
    if (read !== null || evaluate !== null) cost = (read ?? 0) + (evaluate ?? 0);
  }
  return {
    relation: stringAt(node, "table_name"),
    accessType: stringAt(node, "access_type"),
    rows,
    filtered: numberAt(node, "filtered"),
    cost,
  };
}

/** Access types that read every row of a base table (or every entry of one of its indexes). */
const FULL_SCANS = new Set(["ALL", "index"]);

function isFullScan(table: MysqlTable): table is MysqlTable & { readonly accessType: string } {
  if (table.accessType === null || !FULL_SCANS.has(table.accessType)) return false;
  return table.relation === null || !table.relation.startsWith("<");
}

function isMysqlTable(node: JsonObject): boolean {
  return typeof node["table_name"] === "string" || typeof node["access_type"] === "string";
}

function summarizeMysql(plan: unknown): PlanSummary {
  const root = isObject(plan) ? plan["query_block"] : undefined;
  const block = isObject(root) ? root : undefined;
  const scans: SequentialScan[] = [];
  let costliest: CostliestNode | null = null;
  let truncated = false;
  let visited = 0;
  const stack: { value: unknown; depth: number }[] = block === undefined ? [] : [{ value: block, depth: 0 }];
  // Every nesting form (nested_loop, ordering_operation, filesort, materialized, subqueries,
  // union_result, …) holds its tables somewhere below: visit every object, know only tables.
  while (stack.length > 0) {
    const { value, depth } = stack.pop() as { value: unknown; depth: number };
    if (visited >= MAX_PLAN_NODES || depth > MAX_PLAN_DEPTH) {
      truncated = true;
      continue;
    }
    visited += 1;
    const children: unknown[] = Array.isArray(value) ? value : isObject(value) ? Object.values(value) : [];
    if (isObject(value) && isMysqlTable(value)) {
      const table = mysqlTable(value);
      if (isFullScan(table)) {
        scans.push({ scan: table.accessType, relation: table.relation, estimated_rows: table.rows });
      }
      if (table.cost !== null && (costliest === null || table.cost > costliest.cost)) {
        costliest = { node_type: table.accessType ?? "table", relation: table.relation, cost: table.cost };
      }
    }
    if (children.length > MAX_PLAN_NODES) truncated = true;
    for (let i = Math.min(children.length, MAX_PLAN_NODES) - 1; i >= 0; i -= 1) {
      const child = children[i];
      if (typeof child === "object" && child !== null) stack.push({ value: child, depth: depth + 1 });
    }
  }
  return {
    engine: "mysql",
    estimated_rows: block === undefined ? null : mysqlEstimatedRows(block),
    total_cost: block === undefined ? null : mysqlTotalCost(block),
    costliest_node: costliest,
    sequential_scans: scans,
    truncated,
  };
}

function mysqlTotalCost(block: JsonObject): number | null {
  const info = block["cost_info"];
  return (isObject(info) ? numberAt(info, "query_cost") : null) ?? numberAt(block, "cost");
}

/**
 * The top query block's join estimate: its own tables (a single `table`, or the entries of its
 * `nested_loop`, possibly under ordering or grouping wrappers), rows × filtered/100 each,
 * multiplied; for a UNION the sum of its blocks'; null when a table gives no rows.
 */
function mysqlEstimatedRows(block: JsonObject): number | null {
  const union = block["union_result"];
  if (isObject(union)) return unionRows(union);
  const tables = topTables(block, 0);
  return tables === undefined ? null : joinRows(tables);
}

function joinRows(tables: readonly MysqlTable[]): number | null {
  if (tables.length === 0) return null;
  let product = 1;
  for (const table of tables) {
    if (table.rows === null) return null;
    product *= table.rows * ((table.filtered ?? 100) / 100);
  }
  return Math.round(product);
}

/** Wrappers MySQL and MariaDB put between a query block and its join. */
const MYSQL_WRAPPERS = [
  "ordering_operation",
  "grouping_operation",
  "duplicates_removal",
  "filesort",
  "temporary_table",
  "read_sorted_file",
  "windowing",
] as const;

/** A UNION's rows: the sum of its query blocks' estimates, null when one is unknown. */
function unionRows(union: JsonObject): number | null {
  const specs = union["query_specifications"];
  if (!Array.isArray(specs) || specs.length === 0) return null;
  let sum = 0;
  for (const spec of specs.slice(0, MAX_PLAN_NODES)) {
    const block = isObject(spec) ? spec["query_block"] : undefined;
    const tables = isObject(block) ? topTables(block, 1) : undefined;
    const rows = tables === undefined ? null : joinRows(tables);
    if (rows === null) return null;
    sum += rows;
  }
  return sum;
}

function topTables(node: JsonObject, depth: number): MysqlTable[] | undefined {
  if (depth > 8) return undefined;
  const table = node["table"];
  if (isObject(table)) return [mysqlTable(table)];
  const loop = node["nested_loop"];
  if (Array.isArray(loop)) {
    return loop.filter(isObject).flatMap((entry) => {
      const inner = entry["table"];
      return isObject(inner) ? [mysqlTable(inner)] : [];
    });
  }
  for (const key of MYSQL_WRAPPERS) {
    const wrapped = node[key];
    if (isObject(wrapped)) return topTables(wrapped, depth + 1);
  }
  return undefined;
}

/**
 * One line for people: estimated rows, the costliest node and the whole-table scans, as the
 * approval post, the review modal and `dbward request show` print it. Plain text; each surface
 * escapes it for its own markup (and invisible characters in a relation name are shown by
 * `displaySql` there, like any SQL text).
 */
export function describePlanSummary(s: PlanSummary): string {
  const parts: string[] = [];
  parts.push(s.estimated_rows === null ? "rows not estimated" : `~${formatCount(s.estimated_rows)} rows`);
  if (s.costliest_node !== null) {
    const on = s.costliest_node.relation === null ? "" : ` on ${s.costliest_node.relation}`;
    parts.push(`costliest: ${s.costliest_node.node_type}${on}`);
  }
  if (s.sequential_scans.length > 0) {
    const scans = s.sequential_scans
      .slice(0, 3)
      .map(
        (x) =>
          `${x.relation ?? "?"}${x.estimated_rows === null ? "" : ` (~${formatCount(x.estimated_rows)} rows)`}`,
      );
    const more = s.sequential_scans.length > 3 ? ` and ${s.sequential_scans.length - 3} more` : "";
    parts.push(`full scans: ${scans.join(", ")}${more}`);
  } else {
    parts.push("no full scans");
  }
  if (s.truncated) parts.push("plan too large to read whole");
  return parts.join(" · ");
}

/**
 * A dry run's count as approvers read it, the same on every surface: "would change 1,204 rows
 * (counted in 35 ms, rolled back)".
 */
export function describeDryRun(affectedRows: number, durationMs: number | null): string {
  const rows = `${formatCount(affectedRows)} row${affectedRows === 1 ? "" : "s"}`;
  const took = durationMs === null ? "" : `counted in ${formatCount(durationMs)} ms, `;
  return `would change ${rows} (${took}rolled back)`;
}

function formatCount(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : String(n);
}
