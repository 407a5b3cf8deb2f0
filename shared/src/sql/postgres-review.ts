/**
 * PostgreSQL review with libpg-query, PostgreSQL's own parser: the statements it finds are the
 * statements the server would run, with their positions, so no splitting by hand.
 */
import { isAstObject, list, num, pgNode, pgTree, type AstObject } from "./ast-walk.ts";
import { checkFinding } from "./checks.ts";
import { combineVerdicts } from "./combine-verdicts.ts";
import { MAX_STATEMENTS, rejectedReview, tooManyStatements, unparsedReview } from "./guards.ts";
import { pgRuleHits } from "./postgres-rules.ts";
import { classifyPgStatement, pgTargets, type PgStatementContext } from "./postgres-statements.ts";
import {
  countPgStatements,
  findBackslashAmbiguity,
  isPgComment,
  PG_TOKEN,
  PgOffsets,
  scanPg,
  type PgToken,
} from "./postgres-text.ts";
import type { SqlFinding, SqlReview, SqlReviewOptions } from "./review.ts";
import { trimmedSpan } from "./reviewed-statements.ts";
import { pgParser, type PgParser } from "./sql-parsers.ts";
import type { StatementVerdict, TextSpan } from "./statement-verdict.ts";
import { markUnassessed, unparsedVerdict } from "./unparsed-class.ts";

/** A successful parse: the statements as `{ NodeType: body }` with their byte offsets. */
export interface PgParsed {
  readonly statements: readonly PgStatement[];
}

export interface PgStatement {
  readonly type: string;
  readonly body: AstObject;
  /** Byte offset of the statement's first token in the UTF-8 text. */
  readonly start: number;
  /** Byte offset of the semicolon that ends it; undefined when it runs to the end of the text. */
  readonly end: number | undefined;
}

export type PgParseOutcome =
  { readonly ok: true; readonly parsed: PgParsed } | { readonly ok: false; readonly review: SqlReview };

export function reviewPostgres(sql: string, options: SqlReviewOptions): SqlReview {
  const outcome = parsePostgres(sql, options);
  if (!outcome.ok) return outcome.review;
  const offsets = new PgOffsets(sql);
  const ctx: PgStatementContext = {
    position: (byte) => (byte === undefined || byte < 0 ? undefined : offsets.toChar(byte)),
    extraFunctions: options.sideEffectFunctions ?? [],
    trustedFunctions: options.trustedFunctions ?? [],
    settingCeilings: options.settingCeilings,
  };
  const verdicts = outcome.parsed.statements.map(({ type, body, start, end }): StatementVerdict => {
    const position = offsets.toChar(start);
    const tree = pgTree(body);
    const cls = classifyPgStatement(type, body, tree, ctx, position);
    return {
      class: cls.class,
      position,
      span: trimmedSpan(sql, position, end === undefined ? sql.length : offsets.toChar(end)),
      notes: cls.notes,
      hits: cls.executes ? pgRuleHits(type, body, tree, ctx, position) : [],
      effectUnknown: cls.effectUnknown,
      targets: pgTargets(type, body),
      unverified: cls.unverified ?? [],
      ...(cls.references === undefined ? {} : { references: cls.references }),
    };
  });
  return combineVerdicts(sql, verdicts, options);
}

/**
 * Parses `sql` after the pre-parse checks (statement count, backslash ambiguity); on failure
 * answers the review to return. Shared with redaction, which must refuse the same texts.
 */
export function parsePostgres(sql: string, options: SqlReviewOptions = {}): PgParseOutcome {
  const parser = pgParser();
  if (parser === undefined) return { ok: false, review: unparsedReview([parserUnavailable()]) };
  // Counting needs a scan; below this many semicolons there cannot be too many statements.
  if (hasMoreSemicolonsThan(sql, MAX_STATEMENTS - 1)) {
    const tokens = scanPg(parser, sql);
    const tooMany = tokens === undefined ? undefined : tooManyStatements(countPgStatements(tokens));
    if (tooMany !== undefined) return { ok: false, review: rejectedReview([tooMany]) };
  }
  let result: unknown;
  try {
    result = parser.parseSync(sql);
  } catch (error) {
    // With standard_conforming_strings off, `SELECT 'a\''; DELETE …` is two valid statements
    // though it does not parse here; an unreadable text with a backslash is refused, not guessed.
    if (sql.includes("\\")) return { ok: false, review: rejectedReview([backslashFinding(sql, undefined)]) };
    return { ok: false, review: parseFailure(parser, sql, error, options) };
  }
  const raw = isAstObject(result) ? list(result, "stmts") : [];
  const tooMany = tooManyStatements(raw.length);
  if (tooMany !== undefined) return { ok: false, review: rejectedReview([tooMany]) };
  if (sql.includes("\\")) {
    const ambiguity = backslashAmbiguity(parser, sql);
    if (ambiguity !== undefined) return { ok: false, review: rejectedReview([ambiguity]) };
  }
  const statements: PgStatement[] = [];
  for (const item of raw) {
    if (!isAstObject(item)) return { ok: false, review: unparsedReview([parserConfused()]) };
    const node = pgNode(item["stmt"]);
    if (node === undefined) return { ok: false, review: unparsedReview([parserConfused()]) };
    // PostgreSQL's RawStmt: stmt_location is the first token, stmt_len runs to the semicolon
    // (0: to the end of the text). Zero values are left out of the JSON.
    const start = num(item, "stmt_location") ?? 0;
    const length = num(item, "stmt_len") ?? 0;
    statements.push({ ...node, start, end: length > 0 ? start + length : undefined });
  }
  return { ok: true, parsed: { statements } };
}

function hasMoreSemicolonsThan(sql: string, limit: number): boolean {
  let at = sql.indexOf(";");
  for (let count = 0; at >= 0; count += 1) {
    if (count >= limit) return true;
    at = sql.indexOf(";", at + 1);
  }
  return false;
}

function backslashAmbiguity(parser: PgParser, sql: string): SqlFinding | undefined {
  const tokens = scanPg(parser, sql);
  if (tokens === undefined) return parserConfused();
  const at = findBackslashAmbiguity(tokens);
  return at === undefined ? undefined : backslashFinding(sql, at);
}

function backslashFinding(sql: string, byteOffset: number | undefined): SqlFinding {
  return checkFinding(
    "ambiguous_text",
    "block",
    "a backslash in a '…' string changes where the string ends when standard_conforming_strings is off",
    {
      position: byteOffset === undefined ? undefined : new PgOffsets(sql).toChar(byteOffset),
      hint: "write backslash escapes as E'…' strings, or avoid a backslash before a quote",
    },
  );
}

function parseFailure(parser: PgParser, sql: string, error: unknown, options: SqlReviewOptions): SqlReview {
  const details: unknown = error instanceof Error ? Reflect.get(error, "sqlDetails") : undefined;
  const cursor = isAstObject(details) ? num(details, "cursorPosition") : undefined;
  const message = error instanceof Error ? error.message : "unknown error";
  const finding = checkFinding(
    "parse_error",
    "warn",
    `the PostgreSQL parser could not read this text (${message}); a text it cannot read is never treated as a read`,
    {
      position: cursor === undefined ? undefined : new PgOffsets(sql).toChar(cursor),
      hint: "check the syntax; dbward never treats a text it cannot parse as a read",
    },
  );
  const tokens = scanPg(parser, sql);
  const words = (tokens ?? []).filter((t) => !isPgComment(t)).map((t) => t.text);
  const verdict = unparsedVerdict(words, 0, finding, scannedSpan(sql, tokens));
  return markUnassessed(combineVerdicts(sql, [verdict], options));
}

/**
 * Where the statement of a text the parser could not read is, from PostgreSQL's own scanner:
 * from its first token to its semicolon or the end of the text. Only when the scanner sees
 * exactly one statement; a semicolon may end a statement or sit inside one (`BEGIN ATOMIC …
 * END`), and without a parse there is no telling which, so such a text has no span.
 */
function scannedSpan(sql: string, tokens: readonly PgToken[] | undefined): TextSpan | undefined {
  if (tokens === undefined || countPgStatements(tokens) !== 1) return undefined;
  const first = tokens.findIndex((t) => !isPgComment(t) && t.type !== PG_TOKEN.SEMICOLON);
  const start = tokens[first];
  if (start === undefined) return undefined;
  const semicolon = tokens.slice(first).find((t) => t.type === PG_TOKEN.SEMICOLON);
  const offsets = new PgOffsets(sql);
  const end = semicolon === undefined ? sql.length : offsets.toChar(semicolon.start);
  return trimmedSpan(sql, offsets.toChar(start.start), end);
}

function parserUnavailable(): SqlFinding {
  return checkFinding(
    "parser_unavailable",
    "warn",
    "the PostgreSQL parser is not loaded, so the text is treated as a write that needs approval",
    { hint: "call initSqlReview() once at process start" },
  );
}

function parserConfused(): SqlFinding {
  return checkFinding(
    "parse_error",
    "warn",
    "the PostgreSQL parser gave an answer the reviewer does not understand; treated as a write",
  );
}
