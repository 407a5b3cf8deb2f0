/**
 * MySQL/MariaDB review (and SQLite, for the demo database) with node-sql-parser. The lexer splits
 * the text and blanks comments (`mysql-text-checks.ts`); each statement is then parsed alone. For
 * `mysql`, the MySQL grammar is tried first and the MariaDB grammar when it fails, so syntax either
 * server accepts is read; a statement neither grammar reads is never a read (`unparsed-class.ts`).
 */
import { collectObjects, isAstObject, text, type AstObject } from "./ast-walk.ts";
import { checkFinding } from "./checks.ts";
import { combineVerdicts } from "./combine-verdicts.ts";
import { unparsedReview } from "./guards.ts";
import { lexerEffects, namesNotCalled, type NspContext } from "./mysql-effects.ts";
import { matchGrammar } from "./mysql-grammar.ts";
import { grammarVerdict } from "./mysql-grammar-verdict.ts";
import { rewriteParserText } from "./mysql-parser-text.ts";
import { nspRuleHits, nspTargets } from "./mysql-rules.ts";
import { classifyNspStatement } from "./mysql-statements.ts";
import { writeCalls } from "./mysql-write-calls.ts";
import { dialectName, leadingWords, prepareMysqlText, type MysqlStatementText } from "./mysql-text-checks.ts";
import type { SqlFinding, SqlReview, SqlReviewOptions } from "./review.ts";
import { nodeSqlParser, type NodeSqlGrammar } from "./sql-parsers.ts";
import type { StatementVerdict } from "./statement-verdict.ts";
import { markUnassessed, unparsedVerdict } from "./unparsed-class.ts";

type Family = "mysql" | "sqlite";

const GRAMMARS: Readonly<Record<Family, readonly NodeSqlGrammar[]>> = {
  mysql: ["mysql", "mariadb"],
  sqlite: ["sqlite"],
};

export function reviewMysqlFamily(sql: string, dialect: Family, options: SqlReviewOptions): SqlReview {
  if (GRAMMARS[dialect].some((g) => nodeSqlParser(g) === undefined)) {
    return unparsedReview([
      checkFinding(
        "parser_unavailable",
        "warn",
        `the ${dialectName(dialect)} parser is not loaded, so the text is treated as a write that needs approval`,
        { hint: "call initSqlReview() once at process start" },
      ),
    ]);
  }
  const prepared = prepareMysqlText(sql, dialect);
  if (!prepared.ok) return prepared.review;
  let unread = false;
  const verdicts = prepared.statements.map((statement): StatementVerdict => {
    const ctx: NspContext = {
      dialect,
      sql,
      start: statement.start,
      extraFunctions: options.sideEffectFunctions ?? [],
      trustedFunctions: (options.trustedFunctions ?? []).map((name) => name.toLowerCase()),
      settingCeilings: options.settingCeilings,
    };
    if (dialect === "mysql") {
      const match = matchGrammar(sql, statement.tokens, statement.start, statement.parserText);
      if (match !== undefined) {
        return grammarVerdict(match, statement, ctx, (text) =>
          parseStatement({ ...statement, parserText: text }, dialect),
        );
      }
    }
    const parserText =
      dialect === "mysql"
        ? rewriteParserText(sql, statement.tokens, statement.start, statement.parserText).text
        : statement.parserText;
    const parsed = parseStatement({ ...statement, parserText }, dialect);
    if (!isAstObject(parsed)) {
      unread = true;
      return unparsedVerdict(
        leadingWords(sql, statement.tokens),
        statement.start,
        parseError(dialect, parsed, statement),
        statement.span,
      );
    }
    return verdictFor(parsed, statement, ctx);
  });
  const review = combineVerdicts(sql, verdicts, options);
  return unread ? markUnassessed(review) : review;
}

function verdictFor(ast: AstObject, statement: MysqlStatementText, ctx: NspContext): StatementVerdict {
  const objects = collectObjects(ast);
  const cls = classifyNspStatement(ast, objects, ctx);
  // The token pass only ever turns a read into a write; see lexerEffects.
  const extra =
    cls.class === "read"
      ? lexerEffects(statement.tokens, ctx, namesNotCalled(objects))
      : { notes: [], unverified: [] };
  const demoted = extra.notes.length > 0;
  // A write's calls leave it a write of known effect, as on PostgreSQL: listed, never auto-approved.
  const calls = isDataChange(ast) ? writeCalls(objects, statement.tokens, ctx) : [];
  const unverified = [...(cls.unverified ?? []), ...extra.unverified, ...calls];
  return {
    class: cls.class === "read" && demoted ? "write" : cls.class,
    position: statement.start,
    span: statement.span,
    notes: [...cls.notes, ...extra.notes],
    hits: cls.executes ? nspRuleHits(objects, ctx) : [],
    effectUnknown: cls.effectUnknown || extra.unverified.length > 0,
    targets: nspTargets(ast),
    ...(unverified.length > 0 ? { unverified } : {}),
    ...(cls.references !== undefined && !demoted ? { references: cls.references } : {}),
  };
}

/** INSERT, UPDATE, DELETE, REPLACE: the statements whose calls `writeCalls` lists. */
function isDataChange(ast: AstObject): boolean {
  const type = text(ast, "type");
  return type === "insert" || type === "update" || type === "delete" || type === "replace";
}

/**
 * The statement's tree from the first grammar that reads it as exactly one statement, or the
 * first grammar's error message. More than one statement means the parser split differently from
 * the lexer, which is treated as not read at all.
 */
export function parseStatement(statement: MysqlStatementText, dialect: Family): AstObject | string {
  let firstError: string | undefined;
  for (const grammar of GRAMMARS[dialect]) {
    const parser = nodeSqlParser(grammar);
    if (parser === undefined) continue;
    try {
      const result: unknown = parser.astify(statement.parserText, {
        database: grammar,
        parseOptions: { includeLocations: true },
      });
      const single = Array.isArray(result) ? (result.length === 1 ? result[0] : undefined) : result;
      if (isAstObject(single)) return single;
      firstError ??= "the parser found a different number of statements";
    } catch (error) {
      firstError ??= error instanceof Error ? error.message : "unknown error";
    }
  }
  return firstError ?? "no parser";
}

function parseError(dialect: Family, message: string, statement: MysqlStatementText): SqlFinding {
  const short = message.length > 160 ? `${message.slice(0, 157)}…` : message;
  return checkFinding(
    "parse_error",
    "warn",
    `the ${dialectName(dialect)} parser could not read this statement (${short}); a statement it cannot read is never treated as a read`,
    {
      position: statement.start,
      hint: "check the syntax; dbward never treats a text it cannot parse as a read",
    },
  );
}
