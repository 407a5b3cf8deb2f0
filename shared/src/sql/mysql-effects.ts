/**
 * What makes a MySQL/MariaDB or SQLite query more than a read, found anywhere in node-sql-parser's
 * tree: `SELECT … INTO` (variables or server files), row locks (FOR UPDATE, FOR SHARE, LOCK IN
 * SHARE MODE), user-variable assignment (`@x := …`), nested data-modifying statements and calls to
 * functions with side effects. A second, independent pass over the lexer's tokens catches what a
 * parser quirk might drop from the tree (`lexerEffects`).
 */
import { field, isAstObject, list, text, type AstObject } from "./ast-walk.ts";
import { checkFinding } from "./checks.ts";
import type { SqlFinding } from "./review.ts";
import { isConfiguredSideEffect, neverAReadCategory } from "./never-a-read.ts";
import type { LexToken } from "./sql-lexer.ts";

export interface NspContext {
  readonly dialect: "mysql" | "sqlite";
  readonly sql: string;
  /** Character offset of the statement; node-sql-parser's offsets are relative to it. */
  readonly start: number;
  readonly extraFunctions: readonly string[];
}

export interface NspEffects {
  readonly notes: readonly SqlFinding[];
  /** INTO OUTFILE/DUMPFILE writes a file on the database server: refused outright. */
  readonly serverFile: boolean;
}

const DATA_MODIFYING = new Set(["insert", "replace", "update", "delete"]);

/** `objects`: every object in the statement's tree, `root` first (collectObjects). */
export function findNspEffects(root: AstObject, objects: readonly AstObject[], ctx: NspContext): NspEffects {
  const notes: SqlFinding[] = [];
  let serverFile = false;
  const statement = ctx.start;
  for (const node of objects) {
    const type = text(node, "type");
    if (type === "function") {
      const name = nspFunctionName(node);
      const args = field(node, "args");
      const count = args === undefined ? 0 : list(args, "value").length;
      if (name !== undefined && isSideEffect(ctx, name, count)) {
        notes.push(sideEffectNote(name, nspPosition(node, ctx) ?? statement));
      }
    } else if (type === "select") {
      const into = field(node, "into");
      const keyword = into === undefined ? undefined : text(into, "keyword")?.toLowerCase();
      if (keyword === "outfile" || keyword === "dumpfile") serverFile = true;
      else if (keyword !== undefined || (into !== undefined && into["expr"] !== undefined)) {
        notes.push(variableNote("SELECT … INTO sets variables", statement));
      }
      if (isPresent(node["locking_read"]) || isPresent(node["for_update"]))
        notes.push(rowLockNote(statement));
    } else if (type === "assign" && text(node, "symbol") === ":=") {
      notes.push(variableNote("assigns a user variable (:=)", statement));
    } else if (type !== undefined && DATA_MODIFYING.has(type) && node !== root) {
      notes.push(
        checkFinding("not_a_read", "warn", "holds a data-modifying statement", { position: statement }),
      );
    }
  }
  return { notes, serverFile };
}

/** A function's last name part, whether written plain, `quoted` or schema-qualified. */
export function nspFunctionName(node: AstObject): string | undefined {
  const name = node["name"];
  if (typeof name === "string") return name;
  if (!isAstObject(name)) return undefined;
  const parts = list(name, "name");
  const last = parts[parts.length - 1];
  return isAstObject(last) ? text(last, "value") : undefined;
}

/** Character offset of a node in the whole text, when the parser recorded one. */
export function nspPosition(node: AstObject, ctx: NspContext): number | undefined {
  const loc = field(node, "loc");
  const start = loc === undefined ? undefined : field(loc, "start");
  const offset = start?.["offset"];
  return typeof offset === "number" ? ctx.start + offset : undefined;
}

/**
 * The token pass: a side-effect function name followed by `(`, or the words INTO, FOR UPDATE,
 * FOR SHARE or LOCK IN SHARE MODE, in a statement the tree says is a read. Only ever makes the
 * class stricter, so a false alarm costs an approval and a miss by the parser costs nothing.
 */
export function lexerEffects(tokens: readonly LexToken[], ctx: NspContext): SqlFinding[] {
  const code = tokens.filter((t) => t.kind !== "comment");
  const words = code.map((t) => tokenWord(ctx.sql, t));
  const notes: SqlFinding[] = [];
  for (const [i, token] of code.entries()) {
    const word = words[i] ?? "";
    const next = code[i + 1];
    const isCall = next !== undefined && ctx.sql[next.start] === "(";
    const afterParen = code[i + 2];
    const argumentCount = afterParen !== undefined && ctx.sql[afterParen.start] === ")" ? 0 : 1;
    if (isCall && word !== "" && isSideEffect(ctx, word, argumentCount)) {
      notes.push(sideEffectNote(word, token.start));
    }
    const after = words.slice(i + 1, i + 4).join(" ");
    const lockWord = /^(update|share)\b/.exec(after)?.[1];
    const label =
      word === "into"
        ? "INTO"
        : word === "for" && lockWord !== undefined
          ? `FOR ${lockWord.toUpperCase()}`
          : word === "lock" && after === "in share mode"
            ? "LOCK IN SHARE MODE"
            : undefined;
    if (label !== undefined) {
      notes.push(
        checkFinding("not_a_read", "warn", `the text contains ${label}`, {
          position: token.start,
          hint: "INTO and locking clauses make a query more than a read",
        }),
      );
    }
  }
  return notes;
}

/** Lower-case text of a word or quoted identifier (quotes removed); "" for anything else. */
function tokenWord(sql: string, token: LexToken): string {
  const raw = sql.slice(token.start, token.end);
  if (token.kind === "word") return raw.toLowerCase();
  if (token.kind === "quoted_identifier") return raw.slice(1, -1).toLowerCase();
  return "";
}

function isSideEffect(ctx: NspContext, name: string, argumentCount: number): boolean {
  return (
    neverAReadCategory(ctx.dialect, name, argumentCount) !== undefined ||
    isConfiguredSideEffect(name, ctx.extraFunctions)
  );
}

function isPresent(value: unknown): boolean {
  return value !== null && value !== undefined && value !== "" && value !== false;
}

function sideEffectNote(name: string, position: number): SqlFinding {
  return checkFinding("side_effect_function", "warn", `calls ${name}(), which has side effects`, {
    position,
    hint: "a query that sleeps, locks, touches files or changes state needs approval",
  });
}

function rowLockNote(position: number): SqlFinding {
  return checkFinding("row_lock", "warn", "locks the rows it reads (FOR UPDATE/SHARE, LOCK IN SHARE MODE)", {
    position,
    hint: "drop the locking clause if you only need to read",
  });
}

function variableNote(message: string, position: number): SqlFinding {
  return checkFinding("variable_assignment", "warn", message, { position });
}
