/**
 * Review rules over a PostgreSQL statement tree. The walk covers nested statements too, so a
 * `DELETE` without WHERE inside a writable CTE is caught like a top-level one.
 */
import { field, list, num, pgNode, text, type AstObject, type PgTree } from "./ast-walk.ts";
import type { PgContext } from "./postgres-effects.ts";
import type { RuleHit, SqlReviewRule } from "./rules.ts";

/** More values than this in an IN list or ANY(ARRAY[…]) trip `large_in_list`. */
export const LARGE_IN_LIST = 100;

const DROP_RULES: Readonly<Record<string, SqlReviewRule>> = {
  OBJECT_TABLE: "drop_table",
  OBJECT_FOREIGN_TABLE: "drop_table",
  OBJECT_INDEX: "drop_index",
  OBJECT_VIEW: "drop_view",
  OBJECT_MATVIEW: "drop_view",
  OBJECT_SEQUENCE: "drop_sequence",
};

/** Column types that fill themselves, so NOT NULL needs no DEFAULT. */
const SELF_FILLING_TYPES = new Set(["serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"]);

export function pgRuleHits(
  type: string,
  body: AstObject,
  tree: PgTree,
  ctx: PgContext,
  position: number,
): RuleHit[] {
  const hits = hitsFor(type, body, ctx, position);
  for (const node of tree.nodes) {
    // Most nodes are expressions no rule looks at; skipping them keeps reads cheap.
    if (RULE_NODES.has(node.type)) hits.push(...hitsFor(node.type, node.body, ctx, position));
  }
  return hits;
}

/** The node types `hitsFor` has a rule for. */
const RULE_NODES: ReadonlySet<string> = new Set([
  "DeleteStmt",
  "UpdateStmt",
  "DropStmt",
  "TruncateStmt",
  "AlterTableCmd",
  "IndexStmt",
  "CreateSeqStmt",
  "A_Expr",
]);

function hitsFor(type: string, node: AstObject, ctx: PgContext, statement: number): RuleHit[] {
  switch (type) {
    case "DeleteStmt":
    case "UpdateStmt": {
      if (!isMissingOrTrue(node["whereClause"])) return [];
      const rule = type === "DeleteStmt" ? "no_where_delete" : "no_where_update";
      return [at(rule, relationPosition(node, ctx) ?? statement, relationName(node))];
    }
    case "DropStmt": {
      const rule = DROP_RULES[text(node, "removeType") ?? ""];
      return [...(rule === undefined ? [] : [at(rule, statement)]), ...cascade(node, statement)];
    }
    case "TruncateStmt":
      return [at("truncate", statement), ...cascade(node, statement)];
    case "AlterTableCmd":
      return alterTableHits(node, ctx, statement);
    case "IndexStmt":
      return node["concurrent"] === true ? [] : [at("create_index_not_concurrently", statement)];
    case "CreateSeqStmt":
      return [at("create_sequence", statement)];
    case "A_Expr":
      return largeListHits(node, ctx);
    default:
      return [];
  }
}

function alterTableHits(cmd: AstObject, ctx: PgContext, statement: number): RuleHit[] {
  const hits = cascade(cmd, statement);
  const column = text(cmd, "name");
  switch (text(cmd, "subtype")) {
    case "AT_DropColumn":
      hits.push(at("drop_column", statement, column));
      break;
    case "AT_AlterColumnType":
      hits.push(at("alter_column_type", statement, column));
      break;
    case "AT_AddColumn": {
      const def = pgNode(cmd["def"]);
      if (def?.type === "ColumnDef" && isNotNullWithoutDefault(def.body)) {
        const where = ctx.position(num(def.body, "location")) ?? statement;
        hits.push(at("not_null_without_default", where, text(def.body, "colname")));
      }
      break;
    }
    default:
      break;
  }
  return hits;
}

function isNotNullWithoutDefault(columnDef: AstObject): boolean {
  const kinds = list(columnDef, "constraints").map((c) => {
    const node = pgNode(c);
    return node === undefined ? "" : (text(node.body, "contype") ?? "");
  });
  const notNull = kinds.includes("CONSTR_NOTNULL") || kinds.includes("CONSTR_PRIMARY");
  const filled = kinds.some((k) => ["CONSTR_DEFAULT", "CONSTR_IDENTITY", "CONSTR_GENERATED"].includes(k));
  return notNull && !filled && !SELF_FILLING_TYPES.has(typeName(columnDef));
}

function typeName(columnDef: AstObject): string {
  const typeNode = field(columnDef, "typeName");
  const names = typeNode === undefined ? [] : list(typeNode, "names");
  const last = pgNode(names[names.length - 1]);
  return last?.type === "String" ? (text(last.body, "sval") ?? "").toLowerCase() : "";
}

function largeListHits(expr: AstObject, ctx: PgContext): RuleHit[] {
  const kind = text(expr, "kind");
  const right = pgNode(expr["rexpr"]);
  let count = 0;
  if (kind === "AEXPR_IN" && right?.type === "List") count = list(right.body, "items").length;
  if (kind === "AEXPR_IN" && Array.isArray(expr["rexpr"])) count = list(expr, "rexpr").length;
  if (kind === "AEXPR_OP_ANY" && right?.type === "A_ArrayExpr") count = list(right.body, "elements").length;
  if (count <= LARGE_IN_LIST) return [];
  return [at("large_in_list", ctx.position(num(expr, "location")), `${count} values`)];
}

function cascade(node: AstObject, statement: number): RuleHit[] {
  return text(node, "behavior") === "DROP_CASCADE" ? [at("cascade", statement)] : [];
}

/** No WHERE, `WHERE true`, or `WHERE <constant> = <same constant>` (the `1=1` idiom). */
function isMissingOrTrue(where: unknown): boolean {
  if (where === undefined) return true;
  const node = pgNode(where);
  if (node?.type === "A_Const") return field(node.body, "boolval")?.["boolval"] === true;
  if (node?.type !== "A_Expr" || text(node.body, "kind") !== "AEXPR_OP") return false;
  const op = pgNode(list(node.body, "name")[0]);
  if (op?.type !== "String" || text(op.body, "sval") !== "=") return false;
  const left = pgNode(node.body["lexpr"]);
  const right = pgNode(node.body["rexpr"]);
  return left?.type === "A_Const" && right?.type === "A_Const" && sameConstant(left.body, right.body);
}

function sameConstant(a: AstObject, b: AstObject): boolean {
  const strip = ({ location: _location, ...rest }: AstObject): string => JSON.stringify(rest);
  return strip(a) === strip(b);
}

function relationPosition(node: AstObject, ctx: PgContext): number | undefined {
  const relation = field(node, "relation");
  const location = relation === undefined ? undefined : num(relation, "location");
  return location === undefined ? undefined : ctx.position(location);
}

function relationName(node: AstObject): string | undefined {
  const relation = field(node, "relation");
  return relation === undefined ? undefined : text(relation, "relname");
}

function at(rule: SqlReviewRule, position: number | undefined, detail?: string | undefined): RuleHit {
  return {
    rule,
    ...(position === undefined ? {} : { position }),
    ...(detail === undefined ? {} : { detail }),
  };
}
