/**
 * The allowlist check of a MySQL/MariaDB (or SQLite) query, over node-sql-parser's tree
 * (SECURITY.md: a read is proven, not presumed). Every function, aggregate and window call,
 * every operator and every cast target, in any clause, subquery, CTE or argument list, must be a
 * vetted built-in (`mysql-allowlist.ts`) or a stored function trusted by config, written with its
 * schema (`db.f`); every expression node must be of a kind the reviewer knows. Anything else is
 * reported, and the query is not a read.
 *
 * A second, independent pass over the lexer's tokens (`tokenCallProblems`) looks at every word
 * followed by `(`: a parser quirk that drops a call from the tree still leaves it in the text.
 */
import { field, isAstObject, list, text, type AstObject } from "./ast-walk.ts";
import { unverifiedNote } from "./call-findings.ts";
import { displaySql } from "./display-sql.ts";
import { CallLedger, type CallCheck, type CallJudging } from "./call-ledger.ts";
import {
  isMysqlBuiltinFunction,
  isMysqlBuiltinOperator,
  isMysqlCastType,
  isSyntaxCall,
  mysqlExclusionReason,
  type MysqlFamily,
} from "./mysql-allowlist.ts";
import type { SqlFinding } from "./review.ts";
import type { LexToken } from "./sql-lexer.ts";

export interface NspCallContext extends CallJudging {
  readonly dialect: MysqlFamily;
  readonly sql: string;
  /** Character offset of the statement; node-sql-parser's offsets are relative to it. */
  readonly start: number;
}

export type NspCallCheck = CallCheck;

/**
 * Expression and clause node types a read may contain (the `type` of node-sql-parser's objects).
 * A type outside this list (a new parser version, an unusual construct) makes the query unproven
 * until someone reviews it. Statement types are judged by `mysql-statements.ts`.
 */
const READ_NODES: ReadonlySet<string> = new Set([
  "select",
  "explain",
  "column_ref",
  "star",
  "expr_list",
  "binary_expr",
  "unary_expr",
  "function",
  "aggr_func",
  "cast",
  "datatype",
  "case",
  "when",
  "else",
  "interval",
  "extract",
  "fulltext_search",
  "var",
  "param",
  "collate",
  "window",
  "values",
  "number",
  "bigint",
  "bool",
  "null",
  "single_quote_string",
  "double_quote_string",
  "natural_string",
  "hex_string",
  "full_hex_string",
  "bit_string",
  "date",
  "time",
  "timestamp",
  "datetime",
  // name parts and keywords the parser keeps as written
  "default",
  "origin",
  "backticks_quote_string",
  "ESCAPE",
  "ASC",
  "DESC",
  "dual",
  // judged by mysql-effects.ts (INTO, :=, nested writes)
  "assign",
  "insert",
  "replace",
  "update",
  "delete",
]);

/** `objects`: every object in the statement's tree (collectObjects). */
export function checkNspCalls(objects: readonly AstObject[], ctx: NspCallContext): NspCallCheck {
  const check = new CallCollector(ctx);
  for (const node of objects) {
    const type = node["type"];
    if (typeof type !== "string") continue;
    switch (type) {
      case "function":
        check.func(functionParts(node), argumentCount(node), node);
        convertTarget(node, check);
        break;
      case "aggr_func": {
        const name = text(node, "name");
        check.func(name === undefined ? undefined : [name], 1, node);
        break;
      }
      case "binary_expr":
      case "unary_expr":
        check.operator(text(node, "operator"), node);
        break;
      case "cast":
        for (const target of list(node, "target")) {
          check.castType(isAstObject(target) ? text(target, "dataType") : undefined, node);
        }
        break;
      case "datatype":
        check.castType(text(node, "dataType"), node);
        break;
      default:
        if (!READ_NODES.has(type)) check.syntax(type, node);
    }
  }
  return check.result();
}

/** The name parts of a `function` node as written (`["test", "f"]`), or undefined when odd. */
function functionParts(node: AstObject): string[] | undefined {
  const name = node["name"];
  if (typeof name === "string") return [name];
  if (!isAstObject(name)) return undefined;
  const parts: string[] = [];
  const schema = field(name, "schema");
  if (schema !== undefined) {
    const value = text(schema, "value");
    if (value === undefined) return undefined;
    parts.push(value);
  }
  for (const part of list(name, "name")) {
    const value = isAstObject(part) ? text(part, "value") : undefined;
    if (value === undefined) return undefined;
    parts.push(value);
  }
  return parts.length === 0 ? undefined : parts;
}

/**
 * `CONVERT(x, type)`: the MariaDB grammar reads an unknown type name as a column, which the
 * server would take as the target type; it must be a listed one.
 */
function convertTarget(node: AstObject, check: CallCollector): void {
  const parts = functionParts(node);
  if (parts?.length !== 1 || parts[0]?.toLowerCase() !== "convert") return;
  const args = field(node, "args");
  const target = args === undefined ? undefined : list(args, "value")[1];
  if (isAstObject(target) && text(target, "type") === "column_ref") {
    check.castType(text(target, "column") ?? "?", node);
  }
}

function argumentCount(node: AstObject): number {
  const args = field(node, "args");
  return args === undefined ? 0 : list(args, "value").length;
}

class CallCollector {
  private readonly ledger: CallLedger;
  private readonly functions = new Set<string>();

  constructor(private readonly ctx: NspCallContext) {
    this.ledger = new CallLedger(ctx);
  }

  func(parts: readonly string[] | undefined, argumentCount: number, node: AstObject): void {
    if (parts === undefined) return this.syntax("function", node);
    const name = parts.join(".").toLowerCase();
    const last = parts[parts.length - 1] ?? "";
    if (parts.length === 1 && isSyntaxCall(last)) return;
    this.functions.add(name);
    this.ledger.func({
      name,
      parts: parts.length,
      argumentCount,
      builtin: parts.length === 1 && isMysqlBuiltinFunction(this.ctx.dialect, last),
      reason: () => functionReason(parts, this.ctx.dialect),
      position: this.at(node),
    });
  }

  operator(operator: string | undefined, node: AstObject): void {
    if (operator !== undefined && isMysqlBuiltinOperator(operator)) return;
    this.unproven(
      `operator ${operator ?? "?"}`,
      "is not a built-in operator dbward has vetted",
      this.at(node),
    );
  }

  castType(type: string | undefined, node: AstObject): void {
    if (type !== undefined && isMysqlCastType(type)) return;
    this.unproven(`type ${type ?? "?"}`, "is not a cast target dbward has vetted", this.at(node));
  }

  syntax(type: string, node: AstObject): void {
    this.unproven(type, "is syntax dbward has not vetted for reads", this.at(node));
  }

  result(): NspCallCheck {
    return this.ledger.result({ functions: [...this.functions], operators: [], types: [], fields: [] });
  }

  private unproven(what: string, why: string, position: number | undefined): void {
    this.ledger.unproven(what, why, position);
  }

  private at(node: AstObject): number {
    return nspNodePosition(node, this.ctx) ?? this.ctx.start;
  }
}

function functionReason(parts: readonly string[], dialect: MysqlFamily): string {
  const last = parts[parts.length - 1] ?? "";
  if (parts.length > 1) {
    return `is a stored function of schema ${parts.slice(0, -1).join(".")}, whose body the review cannot see`;
  }
  const excluded = mysqlExclusionReason(last);
  if (excluded !== undefined) return `is a built-in left off the allowlist: ${excluded}`;
  return dialect === "sqlite"
    ? "is not a built-in SQLite function dbward has vetted (an application-defined or extension function)"
    : "is not a built-in function dbward has vetted (a stored function, a loadable function, or a built-in not on the list)";
}

/** Character offset of a node in the whole text, when the parser recorded one. */
export function nspNodePosition(node: AstObject, ctx: { readonly start: number }): number | undefined {
  const loc = field(node, "loc");
  const start = loc === undefined ? undefined : field(loc, "start");
  const offset = start?.["offset"];
  return typeof offset === "number" ? ctx.start + offset : undefined;
}

/**
 * Words that may stand before `(` in a read without being a call: keywords, cast and column
 * types (JSON_TABLE columns, CAST targets), and the clause words of index hints and JSON_TABLE.
 */
const NOT_CALLS: ReadonlySet<string> = new Set([
  "select",
  "from",
  "where",
  "and",
  "or",
  "not",
  "xor",
  "in",
  "on",
  "as",
  "by",
  "join",
  "using",
  "over",
  "exists",
  "any",
  "all",
  "some",
  "distinct",
  "union",
  "intersect",
  "except",
  "when",
  "then",
  "else",
  "case",
  "having",
  "limit",
  "offset",
  "is",
  "like",
  "regexp",
  "rlike",
  "between",
  "div",
  "mod",
  "values",
  "row",
  "index",
  "key",
  "columns",
  "against",
  "match",
  "with",
  "recursive",
  "lateral",
  "window",
  "partition",
  "escape",
  "json_table",
  "nested",
  "interval",
  "into",
  "binary",
  "char",
  "character",
  "varchar",
  "nchar",
  "decimal",
  "dec",
  "numeric",
  "float",
  "double",
  "real",
  "int",
  "integer",
  "datetime",
  "time",
  "timestamp",
  "varbinary",
  "bit",
  "tinyint",
  "smallint",
  "mediumint",
  "bigint",
  "year",
  "text",
  "blob",
]);

/**
 * Words followed by `(` that are neither listed built-ins nor keywords nor names the tree shows
 * are not calls (`notCalls`: CTE names and other identifiers given a column list), nor the token
 * starting at an offset in `notCallAt` (an INSERT's table name before its column list). Each is a
 * call the tree check may not have seen.
 */
export function tokenCallProblems(
  tokens: readonly LexToken[],
  ctx: NspCallContext,
  notCalls: ReadonlySet<string>,
  notCallAt: ReadonlySet<number> = new Set(),
): { readonly notes: SqlFinding[]; readonly unverified: string[] } {
  const code = tokens.filter((t) => t.kind !== "comment");
  const notes: SqlFinding[] = [];
  const unverified: string[] = [];
  for (const [i, token] of code.entries()) {
    const next = code[i + 1];
    if (next === undefined || ctx.sql[next.start] !== "(") continue;
    if (token.kind !== "word" && token.kind !== "quoted_identifier") continue;
    if (notCallAt.has(token.start)) continue;
    const raw = ctx.sql.slice(token.start, token.end);
    const word = (token.kind === "word" ? raw : raw.slice(1, -1)).toLowerCase();
    const previous = code[i - 1];
    const qualified =
      previous !== undefined && ctx.sql[previous.start] === "." && previous.end === token.start;
    const keyword = token.kind === "word" && (NOT_CALLS.has(word) || isSyntaxCall(word));
    if (!qualified && (keyword || notCalls.has(word))) continue;
    if (!qualified && isMysqlBuiltinFunction(ctx.dialect, word)) continue;
    if (qualified && ctx.trustedFunctions.some((t) => t.endsWith(`.${word}`))) continue;
    const what = `${word}()`;
    if (unverified.includes(displaySql(what))) continue;
    unverified.push(displaySql(what));
    notes.push(
      unverifiedNote(what, "appears in the text as a call that the review could not check", token.start),
    );
  }
  return { notes, unverified };
}
