/**
 * PostgreSQL review with libpg-query, PostgreSQL's own parser: the statements it finds are the
 * statements the server would run, with their positions, so no splitting by hand.
 */
import { isAstObject, list, num, pgNode, pgTree, type AstObject } from "./ast-walk.ts";
import { checkFinding } from "./checks.ts";
import { combineVerdicts } from "./combine-verdicts.ts";
import { MAX_STATEMENTS, rejectedReview, tooManyStatements, unparsedReview } from "./guards.ts";
import type { PgContext } from "./postgres-effects.ts";
import { pgRuleHits } from "./postgres-rules.ts";
import { classifyPgStatement, pgTargets } from "./postgres-statements.ts";
import {
  countPgStatements,
  findBackslashAmbiguity,
  isPgComment,
  PgOffsets,
  scanPg,
} from "./postgres-text.ts";
import type { SqlFinding, SqlReview, SqlReviewOptions } from "./review.ts";
import { pgParser, type PgParser } from "./sql-parsers.ts";
import type { StatementVerdict } from "./statement-verdict.ts";
import { markUnassessed, unparsedVerdict } from "./unparsed-class.ts";

/** A successful parse: the statements as `{ NodeType: body }` with their byte offsets. */
export interface PgParsed {
  readonly statements: readonly PgStatement[];
}

export interface PgStatement {
  readonly type: string;
  readonly body: AstObject;
  /** Byte offset of the statement in the UTF-8 text. */
  readonly start: number;
}

export type PgParseOutcome =
  { readonly ok: true; readonly parsed: PgParsed } | { readonly ok: false; readonly review: SqlReview };

export function reviewPostgres(sql: string, options: SqlReviewOptions): SqlReview {
  const outcome = parsePostgres(sql, options);
  if (!outcome.ok) return outcome.review;
  const offsets = new PgOffsets(sql);
  const ctx: PgContext = {
    position: (byte) => (byte === undefined || byte < 0 ? undefined : offsets.toChar(byte)),
    extraFunctions: options.sideEffectFunctions ?? [],
  };
  const verdicts = outcome.parsed.statements.map(({ type, body, start }): StatementVerdict => {
    const position = offsets.toChar(start);
    const tree = pgTree(body);
    const cls = classifyPgStatement(type, body, tree, ctx, position);
    return {
      class: cls.class,
      position,
      notes: cls.notes,
      hits: cls.executes ? pgRuleHits(type, body, tree, ctx, position) : [],
      effectUnknown: cls.effectUnknown,
      targets: pgTargets(type, body),
    };
  });
  return combineVerdicts(verdicts, options);
}

/**
 * Parses `sql` after the pre-parse checks (statement count, backslash ambiguity); on failure
 * answers the review to return. Shared with redaction, which must refuse the same texts.
 */
export function parsePostgres(sql: string, options: SqlReviewOptions = {}): PgParseOutcome {
  const parser = pgParser();
  if (parser === undefined) return { ok: false, review: unparsedReview([parserUnavailable()]) };
  // Counting needs a scan; below this many semicolons there cannot be too many statements.
  if (sql.split(";").length > MAX_STATEMENTS) {
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
    const node = isAstObject(item) ? pgNode(item["stmt"]) : undefined;
    if (node === undefined) return { ok: false, review: unparsedReview([parserConfused()]) };
    statements.push({ ...node, start: isAstObject(item) ? (num(item, "stmt_location") ?? 0) : 0 });
  }
  return { ok: true, parsed: { statements } };
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
  const words = (scanPg(parser, sql) ?? []).filter((t) => !isPgComment(t)).map((t) => t.text);
  return markUnassessed(combineVerdicts([unparsedVerdict(words, 0, finding)], options));
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
