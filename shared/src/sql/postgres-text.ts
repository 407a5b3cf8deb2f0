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
    if (token.type === 59) {
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
  private readonly bytes: Buffer | undefined;
  constructor(private readonly sql: string) {
    // eslint-disable-next-line no-control-regex -- the ASCII range is the point
    this.bytes = /^[\x00-\x7f]*$/.test(sql) ? undefined : Buffer.from(sql, "utf8");
  }
  toChar(byteOffset: number): number {
    if (this.bytes === undefined) return byteOffset;
    return this.bytes.subarray(0, Math.max(0, byteOffset)).toString("utf8").length;
  }
  slice(start: number, end: number): string {
    return this.bytes === undefined
      ? this.sql.slice(start, end)
      : this.bytes.subarray(start, end).toString("utf8");
  }
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
