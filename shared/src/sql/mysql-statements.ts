/**
 * The class of one statement as node-sql-parser reads it (MySQL, MariaDB, SQLite). Like the
 * PostgreSQL table, it lists what dbward runs and rejects every other statement type.
 */
import { field, isAstObject, list, text, type AstObject } from "./ast-walk.ts";
import { checkFinding } from "./checks.ts";
import { findNspEffects, type NspContext } from "./mysql-effects.ts";
import type { CatalogReferences, SqlFinding } from "./review.ts";
import { settingProblem, type SettingValue } from "./safe-settings.ts";
import { queryStatementClass, type StatementClass } from "./statement-verdict.ts";

export interface NspStatementClass {
  readonly class: StatementClass;
  readonly notes: readonly SqlFinding[];
  readonly effectUnknown: boolean;
  /** False for EXPLAIN, which does not run its statement: no rules apply. */
  readonly executes: boolean;
  /** Calls the allowlist could not prove (queries only). */
  readonly unverified?: readonly string[];
  /** What a read resolves at run time, for the agent's catalogue check (reads only). */
  readonly references?: CatalogReferences;
}

const DDL_OBJECTS = new Set(["table", "index", "view"]);
const REJECTION_REASONS: ReadonlyMap<string, string> = new Map([
  ["transaction", "transaction control belongs to the agent, which runs each request in its own transaction"],
  ["grant", "GRANT and REVOKE change privileges"],
  ["revoke", "GRANT and REVOKE change privileges"],
  ["lock", "LOCK TABLES holds locks across statements"],
  ["unlock", "UNLOCK TABLES belongs with LOCK TABLES"],
  ["use", "USE switches to another database"],
  ["load_data", "LOAD DATA reads files"],
  ["attach", "ATTACH opens another database file"],
  ["detach", "DETACH closes a database file"],
]);

/** `objects`: every object in the statement's tree, `ast` first (collectObjects). */
export function classifyNspStatement(
  ast: AstObject,
  objects: readonly AstObject[],
  ctx: NspContext,
): NspStatementClass {
  const type = text(ast, "type") ?? "";
  switch (type) {
    case "select":
    case "show":
    case "desc":
      return readUnlessEffects(ast, objects, ctx);
    case "explain":
      return classifyExplain(ast, objects, ctx);
    case "insert":
    case "replace":
    case "update":
    case "delete":
      return plain("write");
    case "call":
      return {
        class: "write",
        notes: [
          checkFinding("unknown_effect", "warn", "CALL runs a procedure whose body is not in the text", {
            position: ctx.start,
            hint: "approvers should know what the procedure does",
          }),
        ],
        effectUnknown: true,
        executes: true,
      };
    case "create":
    case "drop":
    case "alter":
    case "truncate":
    case "rename": {
      // ALTER, TRUNCATE and RENAME come without a keyword when they name a table.
      const keyword = (text(ast, "keyword") ?? "table").toLowerCase();
      return DDL_OBJECTS.has(keyword) && !hasDefiner(ast)
        ? plain("ddl")
        : reject(`dbward does not run ${type.toUpperCase()} ${keyword.toUpperCase()}`, ctx);
    }
    case "set":
      return classifySet(ast, ctx);
    case "load_data":
    case "attach":
    case "detach":
      return reject(REJECTION_REASONS.get(type) ?? type, ctx, "server_file");
    default:
      return reject(
        REJECTION_REASONS.get(type) ?? `dbward does not run ${type.toUpperCase() || "this"} statements`,
        ctx,
      );
  }
}

function plain(cls: StatementClass): NspStatementClass {
  return { class: cls, notes: [], effectUnknown: false, executes: true };
}

function reject(
  reason: string,
  ctx: NspContext,
  rule: "rejected_statement" | "server_file" = "rejected_statement",
): NspStatementClass {
  const note = checkFinding(rule, "block", reason, {
    position: ctx.start,
    hint: "an administrator runs this outside dbward",
  });
  return { class: "rejected", notes: [note], effectUnknown: false, executes: true };
}

function readUnlessEffects(
  ast: AstObject,
  objects: readonly AstObject[],
  ctx: NspContext,
): NspStatementClass {
  const effects = findNspEffects(ast, objects, ctx);
  if (effects.serverFile) {
    return reject("SELECT … INTO OUTFILE/DUMPFILE writes a file on the database server", ctx, "server_file");
  }
  return queryStatementClass(effects.notARead ? "write" : "read", effects);
}

/**
 * EXPLAIN plans without running (EXPLAIN ANALYZE does not parse and so is never a read). A call
 * the allowlist cannot prove still makes it a write: the optimiser evaluates constant
 * expressions while it plans, and nothing is lost by asking for approval.
 */
function classifyExplain(ast: AstObject, objects: readonly AstObject[], ctx: NspContext): NspStatementClass {
  const inner = field(ast, "expr");
  if (inner === undefined) return reject("EXPLAIN of a statement the reviewer does not know", ctx);
  const effects = findNspEffects(inner, objects, ctx);
  const calls = new Set(["side_effect_function", "unverified_call", "trusted_function"]);
  const notes = effects.notes.filter((n) => calls.has(n.rule));
  const notARead = notes.some((n) => n.rule !== "trusted_function");
  return {
    class: notARead ? "write" : "read",
    notes,
    effectUnknown: effects.unverified.length > 0,
    executes: false,
    unverified: effects.unverified,
    ...(notARead ? {} : { references: effects.references }),
  };
}

/** A DEFINER runs the object with someone else's privileges. */
function hasDefiner(ast: AstObject): boolean {
  const definer = ast["definer"];
  return definer !== null && definer !== undefined;
}

/**
 * `SET [SESSION|LOCAL] name = literal, …` for allowlisted names only, memory settings at or
 * below the database's ceiling (`settingProblem`); GLOBAL/PERSIST, user variables (`@x`) and
 * computed values are refused.
 */
function classifySet(ast: AstObject, ctx: NspContext): NspStatementClass {
  const scope = (text(ast, "keyword") ?? "session").toLowerCase();
  const names: string[] = [];
  const problems: string[] = [];
  for (const item of list(ast, "expr")) {
    const setting = isAstObject(item) ? settingName(item) : undefined;
    names.push(setting ?? "?");
    const right = isAstObject(item) ? field(item, "right") : undefined;
    const value = right === undefined ? undefined : literalValue(right);
    if (setting === undefined || value === undefined) {
      problems.push(`${setting ?? "?"} is not set to a literal value`);
      continue;
    }
    const problem = settingProblem(ctx.dialect, setting, [value], ctx.settingCeilings);
    if (problem !== undefined) problems.push(problem);
  }
  if (scope !== "session" && scope !== "local") {
    problems.unshift(`SET ${scope.toUpperCase()} ${names.join(", ")} changes more than this session`);
  }
  if (problems.length === 0 && names.length > 0) return plain("session");
  const note = checkFinding(
    "unsafe_setting",
    "block",
    problems.length === 0
      ? `SET ${names.join(", ")} is not one of the session settings dbward allows`
      : problems.join("; "),
    {
      position: ctx.start,
      hint: "only session timeouts and bounded buffer sizes may be SET, to literal values; sql_mode, NAMES and variables may not",
    },
  );
  return { class: "rejected", notes: [note], effectUnknown: false, executes: true };
}

/** A literal `SET` value; undefined for an expression, a variable or a subquery. */
function literalValue(node: AstObject): SettingValue | undefined {
  const type = text(node, "type");
  const value = node["value"];
  if (type === "number") return { kind: "number", value: typeof value === "number" ? value : Number(value) };
  if (type === "single_quote_string" || type === "double_quote_string") {
    return { kind: "string", value: typeof value === "string" ? value : "" };
  }
  if (type === "bool" || type === "null") return { kind: "other" };
  return undefined;
}

/** `max_execution_time`, `@@max_execution_time`, `@@session.max_execution_time`; undefined for `@x` or `@@global.x`. */
function settingName(assign: AstObject): string | undefined {
  const left = field(assign, "left");
  if (left === undefined || text(left, "type") !== "var") return undefined;
  const prefix = left["prefix"];
  const name = text(left, "name")?.toLowerCase();
  const members = list(left, "members");
  if (prefix === null || prefix === undefined) return members.length === 0 ? name : undefined;
  if (prefix !== "@@") return undefined;
  if (members.length === 0) return name;
  const member = members[0];
  return (name === "session" || name === "local") && members.length === 1 && typeof member === "string"
    ? member.toLowerCase()
    : undefined;
}
