/**
 * Review rules over node-sql-parser's tree (MySQL, MariaDB, SQLite). `create_index_not_concurrently`
 * is PostgreSQL's alone; MySQL builds most indexes online already.
 */
import { field, isAstObject, list, text, type AstObject } from "./ast-walk.ts";
import { nspPosition, type NspContext } from "./mysql-effects.ts";
import { LARGE_IN_LIST } from "./postgres-rules.ts";
import type { RuleHit, SqlReviewRule } from "./rules.ts";

const DROP_RULES: ReadonlyMap<string, SqlReviewRule> = new Map([
  ["table", "drop_table"],
  ["index", "drop_index"],
  ["view", "drop_view"],
]);

/** `objects`: every object in the statement's tree (collectObjects). */
export function nspRuleHits(objects: readonly AstObject[], ctx: NspContext): RuleHit[] {
  return objects.flatMap((node) => hitsFor(node, ctx));
}

function hitsFor(node: AstObject, ctx: NspContext): RuleHit[] {
  const statement = ctx.start;
  switch (text(node, "type")) {
    case "delete":
      return isMissingOrTrue(node["where"])
        ? [at("no_where_delete", statement, firstTable(node, "from"))]
        : [];
    case "update":
      return isMissingOrTrue(node["where"])
        ? [at("no_where_update", statement, firstTable(node, "table"))]
        : [];
    case "drop": {
      const rule = DROP_RULES.get((text(node, "keyword") ?? "").toLowerCase());
      return rule === undefined ? [] : [at(rule, statement)];
    }
    case "truncate":
      return [at("truncate", statement)];
    case "alter":
      return list(node, "expr").flatMap((item) => (isAstObject(item) ? alterHits(item, statement) : []));
    case "binary_expr":
      return largeListHits(node, ctx);
    default:
      return [];
  }
}

function alterHits(item: AstObject, statement: number): RuleHit[] {
  const action = (text(item, "action") ?? "").toLowerCase();
  const resource = (text(item, "resource") ?? "").toLowerCase();
  const column = columnName(item);
  if (action === "drop" && resource === "column") return [at("drop_column", statement, column)];
  if (action === "drop" && (resource === "index" || resource === "key")) return [at("drop_index", statement)];
  if ((action === "modify" || action === "change") && resource === "column") {
    return [at("alter_column_type", statement, column)];
  }
  if (action === "add" && resource === "column") {
    const nullable = field(item, "nullable");
    const notNull = nullable !== undefined && text(nullable, "type") === "not null";
    const hasDefault = item["default_val"] !== null && item["default_val"] !== undefined;
    const autoIncrement = JSON.stringify(item).toLowerCase().includes("auto_increment");
    if (notNull && !hasDefault && !autoIncrement) return [at("not_null_without_default", statement, column)];
  }
  return [];
}

function largeListHits(node: AstObject, ctx: NspContext): RuleHit[] {
  const operator = (text(node, "operator") ?? "").toUpperCase();
  const right = field(node, "right");
  if (
    (operator !== "IN" && operator !== "NOT IN") ||
    right === undefined ||
    text(right, "type") !== "expr_list"
  ) {
    return [];
  }
  const count = list(right, "value").length;
  if (count <= LARGE_IN_LIST) return [];
  return [at("large_in_list", nspPosition(node, ctx) ?? ctx.start, `${count} values`)];
}

/** No WHERE, `WHERE TRUE`, `WHERE 1`, or `WHERE <literal> = <same literal>`. */
function isMissingOrTrue(where: unknown): boolean {
  if (where === null || where === undefined) return true;
  if (!isAstObject(where)) return false;
  const type = text(where, "type");
  if (type === "bool") return where["value"] === true;
  if (type === "number") return where["value"] !== 0;
  if (type !== "binary_expr" || text(where, "operator") !== "=") return false;
  const left = field(where, "left");
  const right = field(where, "right");
  return (
    left !== undefined && right !== undefined && isLiteral(left) && literalKey(left) === literalKey(right)
  );
}

function isLiteral(node: AstObject): boolean {
  return ["number", "bool", "single_quote_string", "double_quote_string"].includes(text(node, "type") ?? "");
}

function literalKey(node: AstObject): string {
  return JSON.stringify([node["type"], node["value"]]);
}

function firstTable(node: AstObject, key: string): string | undefined {
  const first = list(node, key)[0];
  return isAstObject(first) ? text(first, "table") : undefined;
}

function columnName(item: AstObject): string | undefined {
  const column = field(item, "column");
  return column === undefined ? undefined : text(column, "column");
}

function at(rule: SqlReviewRule, position: number, detail?: string | undefined): RuleHit {
  return { rule, position, ...(detail === undefined ? {} : { detail }) };
}

/** Lower-case names of the tables a statement writes or alters, for the risk seam. */
export function nspTargets(ast: AstObject): string[] {
  const names: string[] = [];
  for (const key of ["table", "name"]) {
    const value = ast[key];
    for (const item of Array.isArray(value) ? value : [value]) {
      if (isAstObject(item)) {
        const name = text(item, "table");
        if (name !== undefined) names.push(name.toLowerCase());
      }
    }
  }
  return names;
}
