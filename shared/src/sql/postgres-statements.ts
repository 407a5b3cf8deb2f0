/**
 * The class of one PostgreSQL statement, by node type. The table lists what dbward runs; every
 * other statement type is rejected, so a statement kind added to PostgreSQL later is refused
 * until someone decides what it is.
 */
import { field, list, pgNode, text, type AstObject, type PgTree } from "./ast-walk.ts";
import { checkFinding } from "./checks.ts";
import { checkPgCalls } from "./postgres-calls.ts";
import { findPgEffects, type PgContext } from "./postgres-effects.ts";
import { REJECTION_REASONS } from "./postgres-rejections.ts";
import type { CatalogReferences, SettingCeilings, SqlFinding } from "./review.ts";
import { settingProblem, type SettingValue } from "./safe-settings.ts";
import { queryStatementClass, type StatementClass } from "./statement-verdict.ts";

export interface PgStatementClass {
  readonly class: StatementClass;
  readonly notes: readonly SqlFinding[];
  readonly effectUnknown: boolean;
  /** False for a plain EXPLAIN, whose statement is planned but not run: no rules apply. */
  readonly executes: boolean;
  /** Calls the allowlist could not prove (queries and writes). */
  readonly unverified?: readonly string[];
  /** What a read resolves at run time, for the agent's catalogue check (reads only). */
  readonly references?: CatalogReferences;
}

/** What classifying a statement needs besides its tree. */
export interface PgStatementContext extends PgContext {
  readonly settingCeilings?: SettingCeilings | undefined;
}

const WRITE = new Set([
  "InsertStmt",
  "UpdateStmt",
  "DeleteStmt",
  "MergeStmt",
  "LockStmt",
  "NotifyStmt",
  "PrepareStmt",
  "DeallocateStmt",
  "DeclareCursorStmt",
  "FetchStmt",
  "ClosePortalStmt",
]);
/** The text names a procedure, block or prepared statement; what it does is not in the text. */
const OPAQUE = new Set(["CallStmt", "DoStmt", "ExecuteStmt"]);
const DDL = new Set([
  "CreateStmt",
  "CreateTableAsStmt",
  "IndexStmt",
  "ViewStmt",
  "CreateSeqStmt",
  "AlterSeqStmt",
  "CommentStmt",
  "CreateEnumStmt",
  "AlterEnumStmt",
  "CompositeTypeStmt",
  "CreateDomainStmt",
  "AlterDomainStmt",
  "TruncateStmt",
  "VacuumStmt",
  "ClusterStmt",
  "ReindexStmt",
  "RefreshMatViewStmt",
  "CreateStatsStmt",
  "AlterStatsStmt",
]);

/** Object kinds DDL may create, drop, rename or move; roles, schemas, functions and the like are not. */
const DDL_OBJECTS = new Set([
  "OBJECT_TABLE",
  "OBJECT_INDEX",
  "OBJECT_VIEW",
  "OBJECT_MATVIEW",
  "OBJECT_SEQUENCE",
  "OBJECT_TYPE",
  "OBJECT_DOMAIN",
  "OBJECT_STATISTIC_EXT",
  "OBJECT_COLUMN",
  "OBJECT_ATTRIBUTE",
  "OBJECT_TABCONSTRAINT",
  "OBJECT_DOMCONSTRAINT",
  "OBJECT_FOREIGN_TABLE",
]);

/** ALTER TABLE actions that change who owns the table or switch off triggers, rules or row security. */
const REJECTED_ALTER_TABLE =
  /^AT_(ChangeOwner|EnableTrig|EnableAlwaysTrig|EnableReplicaTrig|DisableTrig|EnableRule|EnableAlwaysRule|EnableReplicaRule|DisableRule|DisableRowSecurity|NoForceRowSecurity)/;

export function classifyPgStatement(
  type: string,
  body: AstObject,
  tree: PgTree,
  ctx: PgStatementContext,
  position: number,
): PgStatementClass {
  if (type === "SelectStmt" || type === "VariableShowStmt") return readUnlessEffects(tree, ctx, position);
  if (type === "ExplainStmt") return classifyExplain(body, tree, ctx, position);
  if (type === "VariableSetStmt") return classifySet(body, position, ctx.settingCeilings);
  if (type === "CopyStmt") return classifyCopy(body, position);
  if (OPAQUE.has(type))
    return { class: "write", notes: [opaqueNote(type, position)], effectUnknown: true, executes: true };
  if (WRITE.has(type)) return writeWithCalls(tree, ctx);
  if (DDL.has(type)) return plain("ddl");
  const ddlProblem = ddlObjectProblem(type, body);
  if (ddlProblem === null) return plain("ddl");
  return reject(
    ddlProblem ?? REJECTION_REASONS[type] ?? `dbward does not run ${statementName(type)} statements`,
    position,
  );
}

/**
 * A write, with the calls in it the allowlist cannot prove free of side effects (unknown ones,
 * and known side effects such as `pg_terminate_backend`): they change nothing about its class
 * (a write needs a person anyway), but whatever runs a write's text before it is approved (a
 * planner folding functions, a dry run) must know them, and a write that calls one is never
 * auto-approved.
 */
function writeWithCalls(tree: PgTree, ctx: PgContext): PgStatementClass {
  const calls = checkPgCalls(tree, ctx);
  const unverified = [...calls.effects, ...calls.unverified];
  return unverified.length > 0 ? { ...plain("write"), unverified } : plain("write");
}

function plain(cls: StatementClass): PgStatementClass {
  return { class: cls, notes: [], effectUnknown: false, executes: true };
}

function reject(reason: string, position: number): PgStatementClass {
  const note = checkFinding("rejected_statement", "block", reason, {
    position,
    hint: "an administrator runs this outside dbward",
  });
  return { class: "rejected", notes: [note], effectUnknown: false, executes: true };
}

/**
 * A query is a read only when nothing in it is more than a read. One the allowlist cannot prove
 * is a write of unknown effect: it needs a person, and it runs as the write it may be.
 */
function readUnlessEffects(tree: PgTree, ctx: PgContext, position: number): PgStatementClass {
  const effects = findPgEffects(tree, ctx, position);
  return queryStatementClass(effects.createsTable ? "ddl" : effects.notARead ? "write" : "read", effects);
}

/**
 * EXPLAIN ANALYZE runs its statement, so it takes that statement's class. Plain EXPLAIN only plans
 * it and is a read, except that a call the allowlist cannot prove still makes it a write:
 * plan-time folding runs immutable functions with constant arguments, and nothing is lost by
 * asking for approval.
 */
function classifyExplain(
  body: AstObject,
  tree: PgTree,
  ctx: PgStatementContext,
  position: number,
): PgStatementClass {
  const inner = pgNode(body["query"]);
  if (inner === undefined) return reject("EXPLAIN of a statement the reviewer does not know", position);
  if (isAnalyze(list(body, "options")))
    return classifyPgStatement(inner.type, inner.body, tree, ctx, position);
  const effects = findPgEffects(tree, ctx, position);
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

/** ANALYZE counts as on unless its argument clearly says off: the safe reading of an odd option. */
function isAnalyze(options: readonly unknown[]): boolean {
  return options.some((option) => {
    const node = pgNode(option);
    if (node?.type !== "DefElem" || text(node.body, "defname") !== "analyze") return false;
    const arg = pgNode(node.body["arg"]);
    if (arg === undefined) return true;
    if (arg.type === "String")
      return !["false", "off", "0", "no"].includes((text(arg.body, "sval") ?? "").toLowerCase());
    if (arg.type === "Boolean") return arg.body["boolval"] === true;
    if (arg.type === "Integer") return arg.body["ival"] !== undefined && arg.body["ival"] !== 0;
    return true;
  });
}

function classifySet(
  body: AstObject,
  position: number,
  ceilings: SettingCeilings | undefined,
): PgStatementClass {
  const kind = text(body, "kind");
  const name = text(body, "name") ?? "";
  const singleSetting = ["VAR_SET_VALUE", "VAR_SET_DEFAULT", "VAR_SET_CURRENT", "VAR_RESET"].includes(
    kind ?? "",
  );
  const values = kind === "VAR_SET_VALUE" ? list(body, "args").map(settingValue) : [];
  const problem = singleSetting
    ? settingProblem("postgres", name, values, ceilings)
    : `${kind === "VAR_RESET_ALL" ? "RESET ALL" : `SET ${name || "…"}`} is not one of the session settings dbward allows`;
  if (problem === undefined) return { class: "session", notes: [], effectUnknown: false, executes: true };
  const note = checkFinding("unsafe_setting", "block", problem, {
    position,
    hint: "only timeouts, bounded memory, planner and display settings may be SET; search_path, role and authorization may not",
  });
  return { class: "rejected", notes: [note], effectUnknown: false, executes: true };
}

/** A `SET` argument: `'64MB'`, `65536`, `1.5`; anything else is not a plain value. */
function settingValue(arg: unknown): SettingValue {
  const node = pgNode(arg);
  if (node?.type !== "A_Const") return { kind: "other" };
  const sval = field(node.body, "sval");
  if (sval !== undefined) return { kind: "string", value: text(sval, "sval") ?? "" };
  const ival = field(node.body, "ival");
  if (ival !== undefined)
    return { kind: "number", value: typeof ival["ival"] === "number" ? ival["ival"] : 0 };
  const fval = field(node.body, "fval");
  if (fval !== undefined) return { kind: "number", value: Number(text(fval, "fval")) };
  return { kind: "other" };
}

function classifyCopy(body: AstObject, position: number): PgStatementClass {
  if (body["is_program"] === true || text(body, "filename") !== undefined) {
    const note = checkFinding("server_file", "block", "COPY to or from a server file or program", {
      position,
      hint: "the server's files and shell are not for requests: a SELECT's result downloads as CSV (dbward request result ID --format csv), and rows load with INSERT",
    });
    return { class: "rejected", notes: [note], effectUnknown: false, executes: true };
  }
  // COPY … FROM STDIN / TO STDOUT moves its rows over the client connection in a sub-protocol a
  // request has no way to feed or take: the agent's job would wait for data that never comes
  // (it did, past its statement timeout). What each is for has a form that works.
  const from = body["is_from"] === true;
  const note = checkFinding(
    "rejected_statement",
    "block",
    from
      ? "COPY … FROM STDIN needs a client to send its rows, which a request has no way to do"
      : "COPY … TO STDOUT needs a client to take its rows in COPY's own protocol, which a request has no way to do",
    {
      position,
      hint: from
        ? "load the rows with INSERT … VALUES (several requests for a large load)"
        : "write the SELECT itself: its result downloads as psql's CSV with dbward request result ID --format csv",
    },
  );
  return { class: "rejected", notes: [note], effectUnknown: false, executes: true };
}

/** `null` when the DDL statement is allowed, a reason when it is not, undefined when `type` is not DDL. */
function ddlObjectProblem(type: string, body: AstObject): string | null | undefined {
  switch (type) {
    case "DropStmt":
      return objectKindProblem("DROP", text(body, "removeType"));
    case "RenameStmt":
      return objectKindProblem("RENAME of", text(body, "renameType"));
    case "AlterObjectSchemaStmt":
      return objectKindProblem("ALTER … SET SCHEMA of", text(body, "objectType"));
    case "DefineStmt":
      return text(body, "kind") === "OBJECT_TYPE"
        ? null
        : "dbward does not run CREATE AGGREGATE/OPERATOR/COLLATION";
    case "AlterTableStmt":
      return alterTableProblem(body);
    default:
      return undefined;
  }
}

function objectKindProblem(verb: string, kind: string | undefined): string | null {
  if (kind !== undefined && DDL_OBJECTS.has(kind)) return null;
  return `dbward does not run ${verb} ${objectName(kind)}`;
}

function alterTableProblem(body: AstObject): string | null {
  for (const cmd of list(body, "cmds")) {
    const node = pgNode(cmd);
    const subtype = node === undefined ? undefined : text(node.body, "subtype");
    if (subtype !== undefined && REJECTED_ALTER_TABLE.test(subtype)) {
      return "dbward does not run ALTER TABLE that changes the owner or switches triggers, rules or row security";
    }
  }
  return objectKindProblem("ALTER", text(body, "objtype") ?? "OBJECT_TABLE");
}

function opaqueNote(type: string, position: number): SqlFinding {
  return checkFinding("unknown_effect", "warn", `${statementName(type)} runs code that is not in the text`, {
    position,
    hint: "approvers should know what the procedure, block or prepared statement does",
  });
}

/** `CreateExtensionStmt` → `CREATE EXTENSION`. */
export function statementName(type: string): string {
  return type
    .replace(/Stmt$/, "")
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .toUpperCase();
}

function objectName(kind: string | undefined): string {
  return (kind ?? "OBJECT_UNKNOWN").replace(/^OBJECT_/, "").replace(/_/g, " ");
}

/** Lower-case unqualified names of the tables a statement writes or alters. */
export function pgTargets(type: string, body: AstObject): string[] {
  const names: string[] = [];
  const relation = field(body, "relation");
  const relname = relation === undefined ? undefined : text(relation, "relname");
  if (relname !== undefined) names.push(relname.toLowerCase());
  if (type === "TruncateStmt") {
    for (const rel of list(body, "relations")) {
      const node = pgNode(rel);
      const name = node === undefined ? undefined : text(node.body, "relname");
      if (name !== undefined) names.push(name.toLowerCase());
    }
  }
  if (type === "DropStmt") {
    for (const object of list(body, "objects")) {
      const parts = pgNode(object);
      const items = parts?.type === "List" ? list(parts.body, "items") : [];
      const last = pgNode(items[items.length - 1]);
      const name = last?.type === "String" ? text(last.body, "sval") : undefined;
      if (name !== undefined) names.push(name.toLowerCase());
    }
  }
  return names;
}
