/**
 * Text-level checks for MySQL/MariaDB and SQLite before node-sql-parser sees anything. The lexer
 * (not the parser) decides where statements end and what is a comment; the parser is then shown
 * each statement alone with its comments blanked, so the two can never disagree about either.
 *
 * Refused here, because the server would read the text differently from the parser:
 *  - executable comments `/*! … *\/`, `/*M! … *\/`: code to MySQL/MariaDB, a comment to the parser;
 *  - `--` not followed by a space: two minus signs to MySQL, a comment to the parser;
 *  - a string whose end moves when backslash escapes are off (NO_BACKSLASH_ESCAPES) or `"` quotes
 *    an identifier (ANSI_QUOTES): the server's sql_mode decides, and the reviewer cannot know it.
 */
import { checkFinding } from "./checks.ts";
import { MAX_STATEMENTS, rejectedReview, tooManyStatements, unparsedReview } from "./guards.ts";
import type { SqlDialect, SqlFinding, SqlReview } from "./review.ts";
import { trimmedSpan } from "./reviewed-statements.ts";
import { lexSql, MYSQL_LEX, SQLITE_LEX, type LexProfile, type LexToken } from "./sql-lexer.ts";
import type { TextSpan } from "./statement-verdict.ts";

export interface MysqlStatementText {
  /** Character offset of the statement's first token. */
  readonly start: number;
  /** The statement from its first token to its semicolon (or the end), trimmed. */
  readonly span: TextSpan;
  readonly tokens: readonly LexToken[];
  /** The statement with every comment replaced by spaces (newlines kept), offsets unchanged. */
  readonly parserText: string;
}

export type MysqlTextOutcome =
  | {
      readonly ok: true;
      readonly tokens: readonly LexToken[];
      readonly statements: readonly MysqlStatementText[];
    }
  | { readonly ok: false; readonly review: SqlReview };

export function prepareMysqlText(sql: string, dialect: "mysql" | "sqlite"): MysqlTextOutcome {
  const lexed = lexSql(sql, dialect === "mysql" ? MYSQL_LEX : SQLITE_LEX);
  if (!lexed.ok && dialect === "mysql" && MYSQL_MODES.some((mode) => lexSql(sql, mode).ok)) {
    // Unterminated with backslash escapes, complete without them: `SELECT 'a\'; DELETE …`.
    return { ok: false, review: rejectedReview([modeFinding(lexed.position)]) };
  }
  if (!lexed.ok) {
    const finding = checkFinding(
      "parse_error",
      "warn",
      `the ${dialectName(dialect)} lexer could not read this text (${lexed.message}); a text it cannot read is never treated as a read`,
      { position: lexed.position, hint: "check quotes and comments are closed" },
    );
    return { ok: false, review: unparsedReview([finding]) };
  }
  const refusal = dialect === "mysql" ? mysqlAmbiguity(sql, lexed.tokens) : undefined;
  if (refusal !== undefined) return { ok: false, review: rejectedReview([refusal]) };
  const groups = splitStatements(lexed.tokens);
  const tooMany = groups.length > MAX_STATEMENTS ? tooManyStatements(groups.length) : undefined;
  if (tooMany !== undefined) return { ok: false, review: rejectedReview([tooMany]) };
  const statements = groups.map((tokens) => statementText(sql, tokens));
  return { ok: true, tokens: lexed.tokens, statements };
}

export function dialectName(dialect: SqlDialect): string {
  return dialect === "postgres" ? "PostgreSQL" : dialect === "mysql" ? "MySQL/MariaDB" : "SQLite";
}

/**
 * sql_mode variants that change how MySQL lexes: NO_BACKSLASH_ESCAPES, and ANSI_QUOTES (where "…"
 * is an identifier, which has no backslash escapes).
 */
const MYSQL_MODES: readonly LexProfile[] = [
  { ...MYSQL_LEX, backslashEscapes: false, doubleQuoteEscapes: false },
  { ...MYSQL_LEX, doubleQuoteEscapes: false },
];

function mysqlAmbiguity(sql: string, tokens: readonly LexToken[]): SqlFinding | undefined {
  for (const [index, token] of tokens.entries()) {
    if (token.kind === "executable_comment") {
      return checkFinding("executable_comment", "block", "MySQL executable comments (/*! … */) run as code", {
        position: token.start,
        hint: "write the statement without /*! … */ or /*M! … */ comments",
      });
    }
    const next = tokens[index + 1];
    if (isMinus(sql, token) && next !== undefined && isMinus(sql, next) && next.start === token.end) {
      return checkFinding(
        "ambiguous_text",
        "block",
        "`--` without a following space is two minus signs to MySQL",
        {
          position: token.start,
          hint: "write `- -` for two minus signs, or `-- ` with a space for a comment",
        },
      );
    }
  }
  return sql.includes("\\") ? modeAmbiguity(sql, tokens) : undefined;
}

/**
 * A text whose tokens change under another sql_mode, where that other reading is valid too, means
 * something the reviewer cannot know. (`'it\'s'` is fine: without backslash escapes it does not
 * lex at all, so the server refuses it rather than running something else.)
 */
function modeAmbiguity(sql: string, tokens: readonly LexToken[]): SqlFinding | undefined {
  for (const mode of MYSQL_MODES) {
    const other = lexSql(sql, mode);
    if (!other.ok) continue;
    const differs = other.tokens.findIndex((t, i) => t.end !== tokens[i]?.end || t.kind !== tokens[i]?.kind);
    if (differs >= 0 || other.tokens.length !== tokens.length) {
      return modeFinding(other.tokens[Math.max(differs, 0)]?.start ?? 0);
    }
  }
  return undefined;
}

function modeFinding(position: number): SqlFinding {
  return checkFinding(
    "ambiguous_text",
    "block",
    "this text reads differently depending on the server's sql_mode (NO_BACKSLASH_ESCAPES, ANSI_QUOTES)",
    { position, hint: "avoid a backslash before a quote; double the quote instead ('')" },
  );
}

function isMinus(sql: string, token: LexToken): boolean {
  return token.kind === "operator" && sql[token.start] === "-";
}

/** Token groups between semicolons that hold something besides comments. */
function splitStatements(tokens: readonly LexToken[]): LexToken[][] {
  const groups: LexToken[][] = [];
  let current: LexToken[] = [];
  for (const token of tokens) {
    if (token.kind === "semicolon") {
      if (current.some((t) => t.kind !== "comment")) groups.push(current);
      current = [];
    } else {
      current.push(token);
    }
  }
  if (current.some((t) => t.kind !== "comment")) groups.push(current);
  return groups;
}

function statementText(sql: string, tokens: readonly LexToken[]): MysqlStatementText {
  const code = tokens.filter((t) => t.kind !== "comment");
  const start = code[0]?.start ?? 0;
  const end = tokens[tokens.length - 1]?.end ?? start;
  let parserText = "";
  let cursor = start;
  for (const token of tokens) {
    if (token.kind !== "comment" || token.end <= start) continue;
    parserText += sql.slice(cursor, token.start) + sql.slice(token.start, token.end).replace(/[^\n]/g, " ");
    cursor = token.end;
  }
  parserText += sql.slice(cursor, end);
  return { start, span: trimmedSpan(sql, start, end), tokens, parserText };
}

/** The first few tokens' texts, for classifying a statement no parser could read. */
export function leadingWords(sql: string, tokens: readonly LexToken[]): string[] {
  return tokens
    .filter((t) => t.kind !== "comment")
    .slice(0, 6)
    .map((t) => sql.slice(t.start, t.end));
}
