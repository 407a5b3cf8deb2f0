/**
 * Read-only MySQL/MariaDB statements node-sql-parser cannot read, recognised by a small strict
 * grammar over the lexer's tokens: SHOW in its everyday forms, DESCRIBE/EXPLAIN of a table,
 * HELP, TABLE and VALUES. A statement that starts with one of these words and does not match a
 * form exactly is never a read. Expressions inside them (SHOW … WHERE, VALUES rows) are handed
 * back as SELECT texts, which the caller reviews like any other query.
 *
 * Left out on purpose: SHOW CREATE USER (it shows password hashes), SHOW BINLOG/RELAYLOG EVENTS
 * and SHOW SLAVE/REPLICA STATUS (replication internals), and any SHOW form not listed here.
 * References: MySQL 8.0 manual §15.7.7 (SHOW statements), §15.8 (utility statements), §15.2.16
 * (TABLE), §15.2.19 (VALUES); MariaDB 10.11 "SHOW", "DESCRIBE", "HELP Command".
 */
import type { LexToken } from "./sql-lexer.ts";
import { TokenCursor } from "./mysql-token-cursor.ts";

export const GRAMMAR_FORMS = ["show", "describe", "help", "table", "values"] as const;
export type GrammarForm = (typeof GRAMMAR_FORMS)[number];

/** A SELECT to review in place of part of the statement, and where that part starts. */
export interface GrammarQuery {
  readonly text: string;
  readonly position: number;
}

export type GrammarMatch =
  | { readonly kind: "read"; readonly form: GrammarForm; readonly queries: readonly GrammarQuery[] }
  | { readonly kind: "not_read"; readonly form: GrammarForm; readonly reason: string };

const FIRST_WORDS: Readonly<Record<string, GrammarForm>> = {
  show: "show",
  describe: "describe",
  desc: "describe",
  explain: "describe",
  help: "help",
  table: "table",
  values: "values",
};

/** Words after EXPLAIN/DESCRIBE that start an explained statement rather than a table name. */
const EXPLAINED = new Set([
  "select",
  "with",
  "(",
  "format",
  "extended",
  "partitions",
  "analyze",
  "update",
  "delete",
  "insert",
  "replace",
  "for",
  "table",
  "values",
]);

/**
 * The grammar's verdict on a statement, or undefined when it is not one of the grammar's kinds
 * (the parser reads it). `parserText`: the statement with comments blanked, from its start.
 */
export function matchGrammar(
  sql: string,
  tokens: readonly LexToken[],
  statementStart: number,
  parserText: string,
): GrammarMatch | undefined {
  const cursor = new TokenCursor(sql, tokens);
  const form = FIRST_WORDS[cursor.peek()];
  if (form === undefined) return undefined;
  if (form === "describe" && EXPLAINED.has(cursor.peek(1))) return undefined;
  cursor.index = 1;
  const slice = (from: number): string => parserText.slice(from - statementStart);
  const matched = MATCHERS[form](cursor, slice);
  if (matched === undefined || !cursor.done) {
    return { kind: "not_read", form, reason: notReadReason(form, cursor) };
  }
  return { kind: "read", form, queries: matched };
}

type Slice = (from: number) => string;
type Matcher = (c: TokenCursor, slice: Slice) => GrammarQuery[] | undefined;

const MATCHERS: Readonly<Record<GrammarForm, Matcher>> = {
  show: matchShow,
  describe: (c) => (c.qualifiedName() && (c.done || c.ident() || c.kind("string")) ? [] : undefined),
  help: (c) => (c.kind("string") ? [] : undefined),
  table: (c) => (c.qualifiedName() && orderAndLimit(c) ? [] : undefined),
  values: matchValues,
};

function notReadReason(form: GrammarForm, c: TokenCursor): string {
  c.index = 0;
  if (form === "show" && c.peek(1) === "create" && c.peek(2) === "user") {
    return "SHOW CREATE USER shows password hashes";
  }
  return `this ${form.toUpperCase()} statement is not in a form dbward knows to be a read`;
}

/** SHOW forms: each a sequence of words, then what may follow (`filter`, `from`, …). */
function matchShow(c: TokenCursor, slice: Slice): GrammarQuery[] | undefined {
  const full = c.word("full");
  if (c.word("tables") || c.word("open", "tables")) return fromDb(c) ? filter(c, slice) : undefined;
  if (c.oneOf(["columns", "fields"]) !== undefined) {
    return fromTable(c) && fromDb(c) ? filter(c, slice) : undefined;
  }
  if (c.word("processlist")) return [];
  if (full) return undefined;
  c.word("extended");
  if (c.oneOf(["index", "indexes", "keys"]) !== undefined) {
    return fromTable(c) && fromDb(c) ? whereOnly(c, slice) : undefined;
  }
  if (c.word("table", "status") || c.oneOf(["triggers", "events"]) !== undefined) {
    return fromDb(c) ? filter(c, slice) : undefined;
  }
  c.oneOf(["global", "session", "local"]);
  if (c.oneOf(["variables", "status"]) !== undefined) return filter(c, slice);
  if (
    c.oneOf(["databases", "schemas", "charset", "collation"]) !== undefined ||
    c.word("character", "set") ||
    c.word("procedure", "status") ||
    c.word("function", "status")
  ) {
    return filter(c, slice);
  }
  if (c.word("grants")) return !c.word("for") || grantee(c) ? [] : undefined;
  if (c.oneOf(["warnings", "errors"]) !== undefined) return limit(c) ? [] : undefined;
  if (c.word("count", "(", "*", ")")) return c.oneOf(["warnings", "errors"]) === undefined ? undefined : [];
  if (c.word("engine")) {
    return c.oneOf(["innodb", "performance_schema"]) !== undefined &&
      c.oneOf(["status", "mutex"]) !== undefined
      ? []
      : undefined;
  }
  c.word("storage");
  if (c.oneOf(["engines", "plugins", "privileges", "profiles"]) !== undefined) return [];
  if (c.word("create")) {
    const object = c.oneOf([
      "table",
      "view",
      "database",
      "schema",
      "procedure",
      "function",
      "trigger",
      "event",
      "sequence",
    ]);
    if (object === undefined) return undefined;
    c.word("if", "not", "exists");
    return c.qualifiedName() ? [] : undefined;
  }
  if (c.word("master", "status") || c.word("binary", "log", "status")) return [];
  if (c.oneOf(["binary", "master"]) !== undefined) return c.word("logs") ? [] : undefined;
  return undefined;
}

function fromDb(c: TokenCursor): boolean {
  if (c.oneOf(["from", "in"]) === undefined) return true;
  return c.ident();
}

function fromTable(c: TokenCursor): boolean {
  return c.oneOf(["from", "in"]) !== undefined && c.qualifiedName();
}

/** `LIKE 'pattern'` or `WHERE expression` (reviewed as a SELECT), or nothing. */
function filter(c: TokenCursor, slice: Slice): GrammarQuery[] | undefined {
  if (c.word("like")) return c.kind("string") ? [] : undefined;
  return whereOnly(c, slice);
}

function whereOnly(c: TokenCursor, slice: Slice): GrammarQuery[] | undefined {
  if (!c.word("where")) return [];
  const first = c.token;
  if (first === undefined) return undefined;
  c.index = c.length;
  return [{ text: `SELECT 1 WHERE ${slice(first.start)}`, position: first.start }];
}

/** `'user'@'host'`, `user@host`, `CURRENT_USER`, `CURRENT_USER()`. */
function grantee(c: TokenCursor): boolean {
  if (c.word("current_user")) {
    c.word("(", ")");
    return true;
  }
  if (!c.kind("string") && !c.ident()) return false;
  if (c.word("@")) return c.kind("string") || c.ident();
  return true;
}

/** `LIMIT n`, `LIMIT m, n`, `LIMIT n OFFSET m`, or nothing. */
function limit(c: TokenCursor): boolean {
  if (!c.word("limit")) return true;
  if (!c.kind("number")) return false;
  if (c.word(",") || c.word("offset")) return c.kind("number");
  return true;
}

/** `ORDER BY col [ASC|DESC], …` then `LIMIT …`, either or both optional. */
function orderAndLimit(c: TokenCursor): boolean {
  if (c.word("order", "by")) {
    do {
      if (!c.qualifiedName()) return false;
      c.oneOf(["asc", "desc"]);
    } while (c.word(","));
  }
  return limit(c);
}

/** `VALUES ROW(…), ROW(…)` (MySQL) or `VALUES (…), (…)` (MariaDB), then ORDER BY/LIMIT. */
function matchValues(c: TokenCursor, slice: Slice): GrammarQuery[] | undefined {
  const queries: GrammarQuery[] = [];
  do {
    c.word("row");
    const open = c.token;
    const close = c.closingParen();
    const closeToken = close === undefined ? undefined : c.tokenAt(close);
    if (open === undefined || close === undefined || closeToken === undefined || close === c.index + 1) {
      return undefined;
    }
    const inner = slice(open.end).slice(0, closeToken.start - open.end);
    queries.push({ text: `SELECT ${inner}`, position: open.end });
    c.index = close + 1;
  } while (c.word(","));
  return orderAndLimit(c) ? queries : undefined;
}
