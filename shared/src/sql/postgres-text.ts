/**
 * Lexical helpers for PostgreSQL over libpg-query's scanner: typed tokens, byte → character
 * offsets, statement counting and the `standard_conforming_strings` check.
 *
 * libpg-query reports positions as byte offsets into the UTF-8 text; findings carry character
 * offsets, so every position goes through `PgOffsets`.
 */
import { isAstObject, list, num, text } from "./ast-walk.ts";
import type { PgParser } from "./sql-parsers.ts";

/** Token types from PostgreSQL's grammar (gram.h) as libpg-query 18 numbers them. */
export const PG_TOKEN = {
  IDENT: 258,
  UIDENT: 259,
  FCONST: 260,
  SCONST: 261,
  USCONST: 262,
  BCONST: 263,
  XCONST: 264,
  Op: 265,
  ICONST: 266,
  PARAM: 267,
  TYPECAST: 268,
  NOT_EQUALS: 274,
  SQL_COMMENT: 275,
  C_COMMENT: 276,
  /** Single-character tokens are their character code. */
  SEMICOLON: 59,
} as const;

export interface PgToken {
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly type: number;
  readonly keyword: boolean;
}

/** Scans `sql`; undefined when the scanner refuses it (an unterminated string, say). */
export function scanPg(parser: PgParser, sql: string): readonly PgToken[] | undefined {
  let result: unknown;
  try {
    result = parser.scanSync(sql);
  } catch {
    return undefined;
  }
  if (!isAstObject(result)) return undefined;
  const tokens: PgToken[] = [];
  for (const raw of list(result, "tokens")) {
    if (!isAstObject(raw)) return undefined;
    const start = num(raw, "start");
    const end = num(raw, "end");
    const tokenText = text(raw, "text");
    const type = num(raw, "tokenType");
    if (start === undefined || end === undefined || tokenText === undefined || type === undefined) {
      return undefined;
    }
    tokens.push({ start, end, text: tokenText, type, keyword: (num(raw, "keywordKind") ?? 0) > 0 });
  }
  return tokens;
}

export function isPgComment(token: PgToken): boolean {
  return token.type === PG_TOKEN.SQL_COMMENT || token.type === PG_TOKEN.C_COMMENT;
}

/** Statements that hold at least one token that is not a comment (so `;;` counts once). */
export function countPgStatements(tokens: readonly PgToken[]): number {
  let count = 0;
  let open = false;
  for (const token of tokens) {
    if (token.type === PG_TOKEN.SEMICOLON) {
      open = false;
    } else if (!isPgComment(token) && !open) {
      open = true;
      count += 1;
    }
  }
  return count;
}

/** Converts libpg-query byte offsets to character offsets of the original string. */
export class PgOffsets {
  private readonly ascii: boolean;
  private bytes: Buffer | undefined;
  private charAt: Uint32Array | undefined;
  constructor(private readonly sql: string) {
    // eslint-disable-next-line no-control-regex -- the ASCII range is the point
    this.ascii = /^[\x00-\x7f]*$/.test(sql);
  }
  /** The UTF-16 offset of the character at `byteOffset` (clamped to the text). Constant time. */
  toChar(byteOffset: number): number {
    if (this.ascii) return byteOffset;
    this.charAt ??= charOffsetsByByte(this.sql);
    const clamped = Math.min(Math.max(0, byteOffset), this.charAt.length - 1);
    return this.charAt[clamped] ?? 0;
  }
  slice(start: number, end: number): string {
    if (this.ascii) return this.sql.slice(start, end);
    this.bytes ??= Buffer.from(this.sql, "utf8");
    return this.bytes.subarray(start, end).toString("utf8");
  }
}

/**
 * For each byte offset of `sql`'s UTF-8 encoding (and one past the end), the UTF-16 offset of
 * the character that starts there; a byte inside a character maps to the character after it.
 * A lone surrogate counts as the 3 bytes of U+FFFD, as `Buffer.from` encodes it.
 */
function charOffsetsByByte(sql: string): Uint32Array {
  const map = new Uint32Array(Buffer.byteLength(sql, "utf8") + 1);
  let byte = 0;
  let i = 0;
  while (i < sql.length) {
    const code = sql.codePointAt(i) ?? 0;
    const units = code > 0xffff ? 2 : 1;
    const size = code < 0x80 ? 1 : code < 0x800 ? 2 : code > 0xffff ? 4 : 3;
    map[byte] = i;
    for (let k = 1; k < size; k += 1) map[byte + k] = i + units;
    byte += size;
    i += units;
  }
  map[byte] = sql.length;
  return map;
}

/**
 * The byte offset of the first plain `'…'` string whose end moves when `standard_conforming_strings`
 * is off (backslash escapes in plain strings), or undefined. libpg-query lexes as PostgreSQL does
 * with the setting on (the default since 9.1); on a server with it off, `'a\'' ; DROP …` would be a
 * different text with a second statement, so such texts are refused rather than guessed at.
 */
export function findBackslashAmbiguity(tokens: readonly PgToken[]): number | undefined {
  for (const token of tokens) {
    if (token.type !== PG_TOKEN.SCONST || !token.text.startsWith("'") || !token.text.includes("\\")) continue;
    if (!endsTheSameWithEscapes(token.text)) return token.start;
  }
  return undefined;
}

const QUOTE_CONTINUATION = /^[ \t\n\r\f\v]*\n[ \t\n\r\f\v]*'/;

function endsTheSameWithEscapes(literal: string): boolean {
  let i = 0;
  for (;;) {
    if (literal[i] !== "'") return false;
    i += 1;
    for (;;) {
      if (i >= literal.length) return false;
      const c = literal[i];
      if (c === "\\") i += 2;
      else if (c === "'" && literal[i + 1] === "'") i += 2;
      else if (c === "'") break;
      else i += 1;
    }
    i += 1;
    if (i === literal.length) return true;
    // 'a' <newline> 'b' is one literal in PostgreSQL; follow it to the next part.
    const continuation = QUOTE_CONTINUATION.exec(literal.slice(i));
    if (continuation === null) return false;
    i += continuation[0].length - 1;
  }
}
