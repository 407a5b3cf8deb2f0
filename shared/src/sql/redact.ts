/**
 * Redaction for logs and webhooks (SECURITY.md, information leaks): every literal becomes `?` and
 * every comment goes, keeping the statement's shape. A text the reviewer cannot read reliably
 * (guards, parse failure, sql_mode ambiguity, executable comments) is not redacted at all: only
 * `sha256:<hex>` of it is returned, so nothing from it can leak through a lexing mistake.
 *
 * Built as an allowlist: only token kinds known to hold no data (keywords, identifiers,
 * operators, punctuation, parameters) are copied; anything else prints as `?`.
 */
import { sha256Hex } from "../encoding.ts";
import { guardText } from "./guards.ts";
import { parseStatement } from "./mysql-review.ts";
import { prepareMysqlText } from "./mysql-text-checks.ts";
import { parsePostgres } from "./postgres-review.ts";
import { isPgComment, PG_TOKEN, PgOffsets, scanPg, type PgToken } from "./postgres-text.ts";
import type { SqlDialect } from "./review.ts";
import { pgParser } from "./sql-parsers.ts";
import type { LexToken } from "./sql-lexer.ts";

/** `sha256:<hex>` of the UTF-8 text: what logs carry when the text cannot be redacted. */
export function sqlFingerprint(sql: string): string {
  return `sha256:${sha256Hex(sql)}`;
}

/** `sql` with every literal replaced by `?` and comments removed, or `sqlFingerprint(sql)`. */
export function redactSql(sql: string, dialect: SqlDialect): string {
  if (guardText(sql) !== undefined) return sqlFingerprint(sql);
  const redacted = dialect === "postgres" ? redactPostgres(sql) : redactMysqlFamily(sql, dialect);
  return redacted ?? sqlFingerprint(sql);
}

/** Token types copied as they are; keywords too (keywordKind > 0). Single characters are < 256. */
const PG_KEPT = new Set<number>([PG_TOKEN.IDENT, PG_TOKEN.Op, PG_TOKEN.PARAM]);

function isKeptPg(token: PgToken): boolean {
  if (token.keyword || token.type < 256 || PG_KEPT.has(token.type)) return true;
  // TYPECAST (::) through NOT_EQUALS (!=, <>): two-character operators.
  return token.type >= PG_TOKEN.TYPECAST && token.type <= PG_TOKEN.NOT_EQUALS;
}

function redactPostgres(sql: string): string | undefined {
  const parser = pgParser();
  if (parser === undefined || !parsePostgres(sql).ok) return undefined;
  const tokens = scanPg(parser, sql);
  if (tokens === undefined) return undefined;
  const offsets = new PgOffsets(sql);
  const pieces = tokens.map((token) => ({
    start: token.start,
    end: token.end,
    text: isPgComment(token) ? undefined : isKeptPg(token) ? token.text : "?",
  }));
  return rebuild(pieces, (start, end) => offsets.slice(start, end));
}

function redactMysqlFamily(sql: string, dialect: "mysql" | "sqlite"): string | undefined {
  const prepared = prepareMysqlText(sql, dialect);
  if (!prepared.ok) return undefined;
  if (prepared.statements.some((s) => typeof parseStatement(s, dialect) === "string")) return undefined;
  const pieces = prepared.tokens.map((token) => ({
    start: token.start,
    end: token.end,
    text: mysqlTokenText(sql, token),
  }));
  return rebuild(pieces, (start, end) => sql.slice(start, end));
}

function mysqlTokenText(sql: string, token: LexToken): string | undefined {
  switch (token.kind) {
    case "word":
    case "quoted_identifier":
    case "operator":
    case "semicolon":
      return sql.slice(token.start, token.end);
    case "comment":
      return undefined;
    case "string":
    case "number":
    case "executable_comment":
    case "other":
      return "?";
  }
}

interface Piece {
  readonly start: number;
  readonly end: number;
  /** undefined for a comment, which is dropped. */
  readonly text: string | undefined;
}

/**
 * Joins the pieces with the original whitespace between them. Anything but whitespace between
 * two tokens means the scanner skipped text, so nothing is returned (and the caller hashes).
 */
function rebuild(
  pieces: readonly Piece[],
  slice: (start: number, end: number) => string,
): string | undefined {
  let out = "";
  let cursor = 0;
  for (const piece of pieces) {
    const gap = slice(cursor, piece.start);
    if (gap.trim() !== "") return undefined;
    out += gap;
    if (piece.text === undefined) {
      if (out !== "" && !/\s$/.test(out)) out += " ";
    } else {
      out += piece.text;
    }
    cursor = piece.end;
  }
  const tail = slice(cursor, Number.MAX_SAFE_INTEGER);
  if (tail.trim() !== "") return undefined;
  return (out + tail).trim();
}
