/**
 * The calls in a MySQL/MariaDB (or SQLite) INSERT, UPDATE, DELETE or REPLACE that the allowlist
 * cannot prove free of side effects: unknown functions (a stored function may write to a MyISAM
 * table, sleep, or call anything), known side effects (`SLEEP`, `GET_LOCK`, `NEXTVAL`), and
 * syntax the reviewer has not vetted. They change nothing about the statement's class (a write
 * needs a person anyway), but whatever runs a write before it is approved (a dry run) must know
 * them, and a write that calls one is never auto-approved (`SqlReview.unverifiedCalls`).
 *
 * The same two passes as a read's: the tree (`checkNspCalls`), and when it finds nothing, the
 * lexer's tokens (`tokenCallProblems`), so a call a parser quirk dropped still counts. What a
 * write may hold that a read may not is vetted here: a RETURNING clause, `VALUES(col)` in ON
 * DUPLICATE KEY UPDATE (the value the row would have had), and the table name an INSERT gives
 * its column list (`INSERT INTO t (a, b)`), which the token pass would otherwise take for a call.
 */
import { field, isAstObject, list, text, type AstObject } from "./ast-walk.ts";
import { checkNspCalls, tokenCallProblems } from "./mysql-calls.ts";
import { namesNotCalled, type NspContext } from "./mysql-effects.ts";
import type { LexToken } from "./sql-lexer.ts";

/** Clause node types of a write that hold no call themselves (their expressions are still walked). */
const WRITE_CLAUSES: ReadonlySet<string> = new Set(["returning"]);

/** Words that may stand between INSERT/REPLACE and the table name. */
const INSERT_MODIFIERS: ReadonlySet<string> = new Set(["low_priority", "delayed", "high_priority", "ignore"]);

/** `objects`: every object in the write's tree, the statement first (collectObjects). */
export function writeCalls(
  objects: readonly AstObject[],
  tokens: readonly LexToken[],
  ctx: NspContext,
): readonly string[] {
  const judged = objects.filter((node) => !isWriteClause(node) && !isInsertedValue(node));
  const tree = checkNspCalls(judged, ctx);
  const found = [...new Set([...tree.effects, ...tree.unverified])];
  if (found.length > 0) return found;
  return tokenCallProblems(tokens, ctx, namesNotCalled(objects), insertTargetAt(tokens, ctx.sql)).unverified;
}

function isWriteClause(node: AstObject): boolean {
  const type = text(node, "type");
  return type !== undefined && WRITE_CLAUSES.has(type);
}

/** `VALUES(col)`: one plain column reference, nothing else (MySQL 8.0 §15.2.7.2). */
function isInsertedValue(node: AstObject): boolean {
  if (text(node, "type") !== "function") return false;
  const name = field(node, "name");
  if (name === undefined || field(name, "schema") !== undefined) return false;
  const parts = list(name, "name");
  const only = parts.length === 1 && isAstObject(parts[0]) ? text(parts[0], "value") : undefined;
  if (only?.toLowerCase() !== "values") return false;
  const args = field(node, "args");
  const values = args === undefined ? [] : list(args, "value");
  return values.length === 1 && isAstObject(values[0]) && text(values[0], "type") === "column_ref";
}

/**
 * The token start of the table name in `INSERT|REPLACE [modifiers] [INTO] [db.]t (`, whose `(`
 * opens a column list, not an argument list; empty for any other statement.
 */
function insertTargetAt(tokens: readonly LexToken[], sql: string): ReadonlySet<number> {
  const code = tokens.filter((t) => t.kind !== "comment");
  const word = (i: number): string => {
    const t = code[i];
    return t?.kind === "word" ? sql.slice(t.start, t.end).toLowerCase() : "";
  };
  if (word(0) !== "insert" && word(0) !== "replace") return new Set();
  let i = 1;
  while (INSERT_MODIFIERS.has(word(i))) i += 1;
  if (word(i) === "into") i += 1;
  const isName = (t: LexToken | undefined): boolean => t?.kind === "word" || t?.kind === "quoted_identifier";
  const dot = code[i + 1];
  if (isName(code[i]) && dot !== undefined && sql[dot.start] === "." && isName(code[i + 2])) i += 2;
  const name = code[i];
  return isName(name) && name !== undefined ? new Set([name.start]) : new Set();
}
