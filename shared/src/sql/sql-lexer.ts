/**
 * A lexer for MySQL/MariaDB and SQLite text, written to match the servers' own lexers rather than
 * node-sql-parser's: it decides where statements end, which text is a comment (and so what the
 * parser is shown), and which tokens are literals for redaction. Where the server's reading
 * depends on its settings (backslash escapes, ANSI_QUOTES), `mysql-text-checks.ts` compares both
 * readings instead of guessing.
 *
 * References: MySQL 8.0 manual §11.1 (literals), §11.2 (identifiers), §11.7 (comments);
 * SQLite "SQL As Understood By SQLite", tokenizer (tokenize.c).
 */

export type LexTokenKind =
  | "word"
  | "quoted_identifier"
  | "string"
  | "number"
  | "operator"
  | "semicolon"
  | "comment"
  | "executable_comment"
  | "other";

export interface LexToken {
  readonly kind: LexTokenKind;
  readonly start: number;
  readonly end: number;
}

export interface LexProfile {
  /** Backslash escapes in '…' strings (MySQL unless NO_BACKSLASH_ESCAPES). */
  readonly backslashEscapes: boolean;
  /** Backslash escapes in "…" (MySQL unless NO_BACKSLASH_ESCAPES or ANSI_QUOTES, which makes it an identifier). */
  readonly doubleQuoteEscapes: boolean;
  /** `#` starts a comment (MySQL). */
  readonly hashComments: boolean;
  /** `--` starts a comment only when followed by whitespace or a control character (MySQL). */
  readonly dashDashNeedsSpace: boolean;
  /** `/*! … *\/` and `/*M! … *\/` are code, not comments (MySQL, MariaDB). */
  readonly executableComments: boolean;
  /** `[name]` quotes an identifier (SQLite). */
  readonly bracketIdentifiers: boolean;
}

export const MYSQL_LEX: LexProfile = Object.freeze({
  backslashEscapes: true,
  doubleQuoteEscapes: true,
  hashComments: true,
  dashDashNeedsSpace: true,
  executableComments: true,
  bracketIdentifiers: false,
});

export const SQLITE_LEX: LexProfile = Object.freeze({
  backslashEscapes: false,
  doubleQuoteEscapes: false,
  hashComments: false,
  dashDashNeedsSpace: false,
  executableComments: false,
  bracketIdentifiers: true,
});

export type LexResult =
  | { readonly ok: true; readonly tokens: readonly LexToken[] }
  | { readonly ok: false; readonly position: number; readonly message: string };

const WHITESPACE = new Set([" ", "\t", "\n", "\r", "\v", "\f"]);

export function isWordChar(c: string | undefined): boolean {
  if (c === undefined) return false;
  return /[A-Za-z0-9_$]/.test(c) || c.charCodeAt(0) >= 0x80;
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}

export function lexSql(sql: string, profile: LexProfile): LexResult {
  const tokens: LexToken[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] ?? "";
    if (WHITESPACE.has(c)) {
      i += 1;
      continue;
    }
    const end = tokenEnd(sql, i, profile);
    if (typeof end === "string") return { ok: false, position: i, message: end };
    tokens.push({ kind: end.kind, start: i, end: end.end });
    i = end.end;
  }
  return { ok: true, tokens };
}

type Ending = { readonly kind: LexTokenKind; readonly end: number } | string;

function tokenEnd(sql: string, i: number, profile: LexProfile): Ending {
  const c = sql[i] ?? "";
  const next = sql[i + 1];
  if (c === ";") return { kind: "semicolon", end: i + 1 };
  if (c === "'") return quoted(sql, i, c, profile.backslashEscapes, "string");
  // "…" is a string to MySQL by default and an identifier under ANSI_QUOTES (or in SQLite, which
  // falls back to a string): either way it may hold a literal, so it counts as one.
  if (c === '"') return quoted(sql, i, c, profile.doubleQuoteEscapes, "string");
  if (c === "`") return quoted(sql, i, "`", false, "quoted_identifier");
  if (c === "[" && profile.bracketIdentifiers) {
    const close = sql.indexOf("]", i + 1);
    return close < 0 ? "unterminated [identifier]" : { kind: "quoted_identifier", end: close + 1 };
  }
  if (c === "#" && profile.hashComments) return { kind: "comment", end: lineEnd(sql, i) };
  if (c === "-" && next === "-" && isDashDashComment(sql[i + 2], profile)) {
    return { kind: "comment", end: lineEnd(sql, i) };
  }
  if (c === "/" && next === "*") return blockComment(sql, i, profile);
  if (isDigit(c) || (c === "." && isDigit(next))) return { kind: "number", end: numberEnd(sql, i) };
  if (isWordChar(c)) return wordOrPrefixedString(sql, i, profile);
  if (c.charCodeAt(0) < 0x20 || c === "\u007f") return { kind: "other", end: i + 1 };
  return { kind: "operator", end: i + 1 };
}

/** MySQL needs whitespace or a control character after `--` (so `1--1` is 1 - -1); SQLite does not. */
function isDashDashComment(after: string | undefined, profile: LexProfile): boolean {
  if (!profile.dashDashNeedsSpace || after === undefined) return true;
  return WHITESPACE.has(after) || after.charCodeAt(0) < 0x20;
}

function lineEnd(sql: string, i: number): number {
  const newline = sql.indexOf("\n", i);
  return newline < 0 ? sql.length : newline + 1;
}

function blockComment(sql: string, i: number, profile: LexProfile): Ending {
  const close = sql.indexOf("*/", i + 2);
  if (close < 0) return "unterminated /* comment";
  const executable = profile.executableComments && (sql[i + 2] === "!" || sql.startsWith("M!", i + 2));
  return { kind: executable ? "executable_comment" : "comment", end: close + 2 };
}

/**
 * The end (exclusive) of the quoted token that opens at `i`, or undefined when it never closes:
 * a doubled quote is a quote; with `backslash`, a backslash escapes the next character.
 */
export function quotedEnd(sql: string, i: number, quote: string, backslash: boolean): number | undefined {
  let j = i + 1;
  while (j < sql.length) {
    const c = sql[j];
    if (backslash && c === "\\") {
      j += 2;
    } else if (c === quote && sql[j + 1] === quote) {
      j += 2;
    } else if (c === quote) {
      return j + 1;
    } else {
      j += 1;
    }
  }
  return undefined;
}

function quoted(sql: string, i: number, quote: string, backslash: boolean, kind: LexTokenKind): Ending {
  const end = quotedEnd(sql, i, quote, backslash);
  return end === undefined ? `unterminated ${quote}…${quote}` : { kind, end };
}

/** Numbers, and identifiers that start with a digit (legal in MySQL); both redact to `?`. */
function numberEnd(sql: string, i: number): number {
  let j = i;
  while (j < sql.length) {
    const c = sql[j];
    const exponentSign = (c === "+" || c === "-") && /[eE]/.test(sql[j - 1] ?? "") && isDigit(sql[j + 1]);
    if (isWordChar(c) || c === "." || exponentSign) j += 1;
    else break;
  }
  return j;
}

/** A word, or a prefixed literal: X'ff', B'01', N'text', _utf8mb4'text'. */
function wordOrPrefixedString(sql: string, i: number, profile: LexProfile): Ending {
  let j = i;
  while (isWordChar(sql[j])) j += 1;
  const word = sql.slice(i, j).toLowerCase();
  const prefix = word === "x" || word === "b" || word === "n" || (word.startsWith("_") && word.length > 1);
  if (prefix && sql[j] === "'") {
    return quoted(sql, j, "'", profile.backslashEscapes, "string");
  }
  return { kind: "word", end: j };
}
