/**
 * What makes a MySQL/MariaDB or SQLite query more than a read, found anywhere in node-sql-parser's
 * tree: `SELECT … INTO` (variables or server files), row locks (FOR UPDATE, FOR SHARE, LOCK IN
 * SHARE MODE), user-variable assignment (`@x := …`), nested data-modifying statements, and
 * anything the allowlist check cannot prove (`mysql-calls.ts`). A second, independent pass over
 * the lexer's tokens catches what a parser quirk might drop from the tree (`lexerEffects`).
 */
import { field, isAstObject, list, text, type AstObject } from "./ast-walk.ts";
import { checkFinding } from "./checks.ts";
import { checkNspCalls, nspNodePosition, tokenCallProblems, type NspCallContext } from "./mysql-calls.ts";
import type { CatalogReferences, SettingCeilings, SqlFinding } from "./review.ts";
import { isConfiguredSideEffect, neverAReadCategory } from "./never-a-read.ts";
import type { LexToken } from "./sql-lexer.ts";

export interface NspContext extends NspCallContext {
  readonly settingCeilings?: SettingCeilings | undefined;
}

export interface NspEffects {
  /** Findings: each one makes the query something other than a read, except `trusted_function`. */
  readonly notes: readonly SqlFinding[];
  /** Whether the query is something other than a read. */
  readonly notARead: boolean;
  /** INTO OUTFILE/DUMPFILE writes a file on the database server: refused outright. */
  readonly serverFile: boolean;
  /** Calls the allowlist could not prove, as written. */
  readonly unverified: readonly string[];
  readonly references: CatalogReferences;
}

const DATA_MODIFYING = new Set(["insert", "replace", "update", "delete"]);

/** `objects`: every object in the statement's tree, `root` first (collectObjects). */
export function findNspEffects(root: AstObject, objects: readonly AstObject[], ctx: NspContext): NspEffects {
  const notes: SqlFinding[] = [];
  let serverFile = false;
  const statement = ctx.start;
  for (const node of objects) {
    const type = text(node, "type");
    if (type === "select") {
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
  const calls = checkNspCalls(objects, ctx);
  return {
    notes: [...notes, ...calls.notes],
    notARead: notes.length > 0 || calls.notARead,
    serverFile,
    unverified: calls.unverified,
    references: calls.references,
  };
}

/** Names the tree gives a column list without calling them: CTE names (`WITH c (n) AS …`). */
export function namesNotCalled(objects: readonly AstObject[]): Set<string> {
  const names = new Set<string>();
  for (const node of objects) {
    for (const cte of list(node, "with")) {
      const name = isAstObject(cte) ? field(cte, "name") : undefined;
      const value = name === undefined ? undefined : text(name, "value");
      if (value !== undefined) names.add(value.toLowerCase());
    }
  }
  return names;
}

/** Character offset of a node in the whole text, when the parser recorded one. */
export function nspPosition(node: AstObject, ctx: NspContext): number | undefined {
  return nspNodePosition(node, ctx);
}

/**
 * The token pass: a side-effect function name followed by `(`, any other word followed by `(`
 * that is neither a listed built-in, a keyword nor a name in `notCalls` (`tokenCallProblems`),
 * or the words INTO, FOR UPDATE, FOR SHARE or LOCK IN SHARE MODE, in a statement the tree says
 * is a read. Only ever makes the class stricter, so a false alarm costs an approval and a miss by
 * the parser costs nothing.
 */
export function lexerEffects(
  tokens: readonly LexToken[],
  ctx: NspContext,
  notCalls: ReadonlySet<string> = new Set(),
): { readonly notes: SqlFinding[]; readonly unverified: string[] } {
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
  if (notes.length > 0) return { notes, unverified: [] };
  return tokenCallProblems(tokens, ctx, notCalls);
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
