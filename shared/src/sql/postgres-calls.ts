/**
 * The allowlist check of a PostgreSQL query (SECURITY.md: a read is proven, not presumed). Every
 * function, aggregate and window call, every operator, every type named in a cast or column
 * definition and every TABLESAMPLE method, in any clause, subquery, CTE or argument list, must be
 * a vetted built-in (`postgres-allowlist.ts`) or a function trusted by config; every node of the
 * tree must be syntax the reviewer knows. Anything else is reported, and the query is not a read.
 *
 * Text cannot see everything: `t.f` may be a call `f(t)`, and `=` may resolve to an operator a
 * user defined for their own type. The names are therefore also handed to the agent
 * (`CatalogReferences`), which checks them against its target's real catalogue before it runs.
 */
import { list, num, pgNode, text, type AstObject, type PgTree } from "./ast-walk.ts";
import { neverAReadNote } from "./call-findings.ts";
import { CallLedger, type CallCheck, type CallJudging } from "./call-ledger.ts";
import { neverAReadCategory } from "./never-a-read.ts";
import { isPgBuiltin, pgExclusionReason, pgViewCall, type PgNameKind } from "./postgres-allowlist.ts";

export interface PgCallContext extends Omit<CallJudging, "dialect"> {
  /** Converts a libpg-query byte offset to a character offset; undefined stays undefined. */
  readonly position: (byteOffset: number | undefined) => number | undefined;
}

export type PgCallCheck = CallCheck;

/**
 * Node types a read may contain. A node type outside this list (a new PostgreSQL feature, an
 * unusual clause) makes the query unproven until someone reviews it. Data-modifying statements,
 * locking and INTO clauses are listed because `postgres-effects.ts` judges them.
 */
const READ_NODES: ReadonlySet<string> = new Set([
  "SelectStmt",
  "ResTarget",
  "ColumnRef",
  "String",
  "A_Star",
  "A_Const",
  "Integer",
  "Float",
  "Boolean",
  "BitString",
  "FuncCall",
  "NamedArgExpr",
  "A_Expr",
  "BoolExpr",
  "TypeCast",
  "TypeName",
  "RangeVar",
  "JoinExpr",
  "Alias",
  "SortBy",
  "WindowDef",
  "SubLink",
  "RangeSubselect",
  "RangeFunction",
  "CommonTableExpr",
  "WithClause",
  "CTESearchClause",
  "CTECycleClause",
  "CaseExpr",
  "CaseWhen",
  "CoalesceExpr",
  "MinMaxExpr",
  "NullTest",
  "BooleanTest",
  "A_ArrayExpr",
  "A_Indices",
  "A_Indirection",
  "RowExpr",
  "List",
  "SQLValueFunction",
  "GroupingSet",
  "GroupingFunc",
  "CollateClause",
  "ParamRef",
  "XmlExpr",
  "XmlSerialize",
  "RangeTableFunc",
  "RangeTableFuncCol",
  "RangeTableSample",
  "ColumnDef",
  "DefElem",
  "ExplainStmt",
  "VariableShowStmt",
  "JsonObjectConstructor",
  "JsonArrayConstructor",
  "JsonArrayQueryConstructor",
  "JsonObjectAgg",
  "JsonArrayAgg",
  "JsonAggConstructor",
  "JsonKeyValue",
  "JsonValueExpr",
  "JsonOutput",
  "JsonReturning",
  "JsonFormat",
  "JsonIsPredicate",
  "JsonFuncExpr",
  "JsonTable",
  "JsonTablePathSpec",
  "JsonTableColumn",
  "JsonBehavior",
  "JsonArgument",
  "JsonParseExpr",
  "JsonScalarExpr",
  "JsonSerializeExpr",
  "LockingClause",
  "IntoClause",
  "InsertStmt",
  "UpdateStmt",
  "DeleteStmt",
  "MergeStmt",
]);

/**
 * SQL/JSON syntax of PostgreSQL 16 and later that PostgreSQL 15, the oldest server dbward
 * supports, reads as a plain call of a function of the keyword's name: on 15, `JSON_ARRAY(1, 2)`
 * calls whatever `json_array(…)` the search path finds, a user's function included. Until the
 * review knows its target's version these stay unproven. (`IS JSON`, `JSON_TABLE`,
 * `JSON_OBJECTAGG` and `JSON_ARRAY(SELECT …)` are syntax errors on 15, so they stay reads;
 * `JSON_OBJECT` is a call on 15 only with no arguments.)
 */
const OLDER_SERVER_CALLS: Readonly<Record<string, string>> = {
  JsonArrayConstructor: "json_array",
  JsonArrayAgg: "json_arrayagg",
  JsonObjectConstructor: "json_object",
  JsonParseExpr: "json",
  JsonScalarExpr: "json_scalar",
  JsonSerializeExpr: "json_serialize",
  JsonFuncExpr: "json_value, json_query or json_exists",
};

/** A_Expr kinds whose `name` is the operator itself; BETWEEN kinds name the syntax instead. */
const BETWEEN_KINDS = new Set([
  "AEXPR_BETWEEN",
  "AEXPR_NOT_BETWEEN",
  "AEXPR_BETWEEN_SYM",
  "AEXPR_NOT_BETWEEN_SYM",
]);

export function checkPgCalls(tree: PgTree, ctx: PgCallContext): PgCallCheck {
  const check = new CallCollector(ctx);
  for (const { type, body } of tree.nodes) {
    switch (type) {
      case "FuncCall":
        check.func(nameParts(list(body, "funcname")), list(body, "args").length, num(body, "location"));
        break;
      case "A_Expr":
        check.operator(body);
        break;
      // `ORDER BY x USING op` and `x op ANY (SELECT …)` name an operator outside A_Expr.
      case "SortBy":
        if (body["useOp"] !== undefined)
          check.name("operator", nameParts(list(body, "useOp")), num(body, "location"));
        break;
      case "SubLink":
        if (body["operName"] !== undefined) {
          check.name("operator", nameParts(list(body, "operName")), num(body, "location"));
        } else if (text(body, "subLinkType") === "ANY_SUBLINK") check.implicitEquality();
        break;
      // `CASE x WHEN v`, `JOIN … USING (c)` and `NATURAL JOIN` compare with `=` without writing it.
      case "CaseExpr":
        if (body["arg"] !== undefined) check.implicitEquality();
        break;
      case "JoinExpr":
        if (body["usingClause"] !== undefined || body["isNatural"] === true) check.implicitEquality();
        break;
      case "RangeVar":
        check.relation(body);
        break;
      case "RangeTableSample":
        check.name("tablesample", nameParts(list(body, "method")), num(body, "location"));
        break;
      case "ColumnRef":
        check.field(lastString(list(body, "fields")));
        break;
      case "A_Indirection":
        for (const item of list(body, "indirection")) check.field(stringValue(item));
        break;
      default:
        if (!READ_NODES.has(type)) check.syntax(type, num(body, "location"));
        else if (OLDER_SERVER_CALLS[type] !== undefined) check.olderServerCall(type, body);
    }
  }
  // TypeName is a typed field (`typeName: {…}`) as often as a node: found by its shape.
  for (const typeName of tree.typeNames) {
    check.name("type", nameParts(list(typeName, "names")), num(typeName, "location"));
  }
  return check.result();
}

class CallCollector {
  private readonly ledger: CallLedger;
  private readonly refs = {
    functions: new Set<string>(),
    operators: new Set<string>(),
    types: new Set<string>(),
    fields: new Set<string>(),
  };

  constructor(private readonly ctx: PgCallContext) {
    this.ledger = new CallLedger({ dialect: "postgres", ...ctx });
  }

  func(parts: readonly string[], argumentCount: number, location: number | undefined): void {
    if (parts.length === 0) return this.syntax("FuncCall", location);
    const name = parts.join(".");
    this.refs.functions.add(name);
    this.ledger.func({
      name,
      parts: parts.length,
      argumentCount,
      builtin: isPgBuiltin("function", parts),
      reason: () => functionReason(parts),
      position: this.at(location),
    });
  }

  operator(body: AstObject): void {
    const kind = text(body, "kind") ?? "";
    const location = num(body, "location");
    if (BETWEEN_KINDS.has(kind)) {
      this.refs.operators.add("<=");
      this.refs.operators.add(">=");
      return;
    }
    this.name("operator", nameParts(list(body, "name")), location);
  }

  name(kind: Exclude<PgNameKind, "function">, parts: readonly string[], location: number | undefined): void {
    const name = parts.join(".");
    if (kind === "operator") this.refs.operators.add(name);
    if (kind === "type") this.refs.types.add(name);
    if (parts.length > 0 && isPgBuiltin(kind, parts)) return;
    const what = kind === "tablesample" ? `TABLESAMPLE ${name}` : `${kind} ${name}`;
    const why =
      parts.length > 1 && parts[0] !== "pg_catalog"
        ? `is in schema ${parts.slice(0, -1).join(".")}, outside the built-in catalogue`
        : `is not a built-in ${kind === "tablesample" ? "sampling method" : kind} dbward has vetted`;
    this.unproven(what, why, location);
  }

  /** A pg_catalog view whose definition calls a never-a-read function (`pg_file_settings`). */
  relation(body: AstObject): void {
    const schema = text(body, "schemaname");
    const relname = text(body, "relname");
    // `test.pg_catalog.pg_file_settings` names the same view in the current database `test`.
    if (relname === undefined || (schema !== undefined && schema !== "pg_catalog")) return;
    const fn = pgViewCall(relname);
    const category = fn === undefined ? undefined : neverAReadCategory("postgres", fn);
    if (fn === undefined || category === undefined) return;
    this.ledger.refuse(`view ${relname}`, neverAReadNote(fn, category, this.at(num(body, "location"))));
  }

  olderServerCall(type: string, body: AstObject): void {
    if (type === "JsonObjectConstructor" && list(body, "exprs").length > 0) return;
    const name = OLDER_SERVER_CALLS[type] ?? type;
    this.unproven(
      `${type} (${name})`,
      `is SQL/JSON syntax of PostgreSQL 16+, which PostgreSQL 15 reads as a call of ${name}(), a function the search path may find outside pg_catalog`,
      num(body, "location"),
    );
  }

  /**
   * `=` used by syntax that does not name it: the text cannot tell which `=` the server picks,
   * so the agent's catalogue check must look for a user-defined one, as for a written `=`.
   */
  implicitEquality(): void {
    this.refs.operators.add("=");
  }

  field(name: string | undefined): void {
    if (name !== undefined) this.refs.fields.add(name);
  }

  syntax(nodeType: string, location: number | undefined): void {
    this.unproven(nodeType, "is syntax dbward has not vetted for reads", location);
  }

  result(): PgCallCheck {
    return this.ledger.result({
      functions: [...this.refs.functions],
      operators: [...this.refs.operators],
      types: [...this.refs.types],
      fields: [...this.refs.fields],
    });
  }

  private unproven(what: string, why: string, location: number | undefined): void {
    this.ledger.unproven(what, why, this.at(location));
  }

  private at(location: number | undefined): number | undefined {
    return this.ctx.position(location);
  }
}

function functionReason(parts: readonly string[]): string {
  const excluded = pgExclusionReason(parts);
  if (excluded !== undefined) return `is a built-in left off the allowlist: ${excluded}`;
  if (parts.length === 1)
    return "is not a built-in function dbward has vetted (a user-defined, extension or newer built-in function)";
  if (parts.length === 2 && parts[0] === "pg_catalog")
    return "is not on dbward's list of side-effect-free built-ins";
  return `is a function in schema ${parts.slice(0, -1).join(".")}, outside the built-in catalogue`;
}

/** The `sval`s of a list of `{ String: … }` nodes; a non-string part makes the name unreadable. */
function nameParts(items: readonly unknown[]): string[] {
  const parts: string[] = [];
  for (const item of items) {
    const value = stringValue(item);
    if (value === undefined) return [];
    parts.push(value);
  }
  return parts;
}

function stringValue(item: unknown): string | undefined {
  const node = pgNode(item);
  return node?.type === "String" ? text(node.body, "sval") : undefined;
}

function lastString(fields: readonly unknown[]): string | undefined {
  if (fields.length < 2) return undefined;
  return stringValue(fields[fields.length - 1]);
}
