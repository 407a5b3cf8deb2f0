/**
 * The tables a MySQL/MariaDB dry run must check before it runs (dry-run-mysql.ts `tables`):
 * every table the statement names, wherever (the changed tables, joins, subqueries, an INSERT's
 * SELECT), from node-sql-parser's own table list of the same text the review parsed (comments
 * blanked, the review's rewrites applied, the MySQL grammar first and then MariaDB's). A trigger
 * on a table that is only read never fires, but listing every name costs only a refusal and
 * leaves no guess about which ones a statement changes. CTE names are listed too, and refused as
 * no table: a dry run of a write with a WITH clause is refused rather than half-checked.
 *
 * Fails closed with `sql.rejected`: a text that is not exactly one statement the parser reads,
 * or a name the check could misread (`a.b` quoted as one name, a schema called `null`, which the
 * parser's list cannot tell from no schema at all).
 */
import { DbwardError } from "@dbward/shared";
// Not exported by shared's index; the review's own text preparation, rewrites and parsers.
import { rewriteParserText } from "../../../shared/src/sql/mysql-parser-text.ts";
import { prepareMysqlText } from "../../../shared/src/sql/mysql-text-checks.ts";
import { nodeSqlParser, type NodeSqlGrammar } from "../../../shared/src/sql/sql-parsers.ts";
import type { LexToken } from "../../../shared/src/sql/sql-lexer.ts";

const GRAMMARS: readonly NodeSqlGrammar[] = ["mysql", "mariadb"];

/** `name` or `schema.name`, as written, for every table `sql` names; throws `sql.rejected`. */
export function dryRunMysqlTables(sql: string): string[] {
  if (GRAMMARS.some((g) => nodeSqlParser(g) === undefined)) throw rejected("the MySQL parser is not loaded");
  const prepared = prepareMysqlText(sql, "mysql");
  if (!prepared.ok) throw rejected("the statement could not be read");
  const [statement, ...more] = prepared.statements;
  if (statement === undefined || more.length > 0) throw rejected("a dry run takes exactly one statement");
  if (qualifiesWithNull(sql, statement.tokens))
    throw rejected("a schema named null cannot be told from none");
  const text = rewriteParserText(sql, statement.tokens, statement.start, statement.parserText).text;
  const listed = tableList(text);
  if (listed === undefined) throw rejected("the statement could not be parsed");
  const tables = new Set<string>();
  for (const entry of listed) tables.add(tableName(entry));
  return [...tables];
}

/** The parser's list (`update::db::t`, `select::null::t`) from the first grammar that reads one statement. */
function tableList(text: string): readonly string[] | undefined {
  for (const grammar of GRAMMARS) {
    const parser = nodeSqlParser(grammar);
    if (parser === undefined) continue;
    try {
      const parsed = parser.parse(text, { database: grammar });
      const ast: unknown = parsed.ast;
      if (Array.isArray(ast) && ast.length !== 1) return undefined;
      return parsed.tableList;
    } catch {
      // The next grammar may read it; the review tried them in the same order.
    }
  }
  return undefined;
}

function tableName(entry: string): string {
  const parts = entry.split("::");
  const [, schema, name] = parts;
  if (parts.length !== 3 || schema === undefined || name === undefined || schema === "" || name === "") {
    throw rejected(`the parser listed a table name the check cannot read (${entry})`);
  }
  if (schema.includes(".") || name.includes(".")) {
    throw rejected(`the table name ${schema}::${name} holds a dot, which the check would misread`);
  }
  return schema === "null" ? name : `${schema}.${name}`;
}

/** Whether a name `null` qualifies another (`null.t`, `` `NULL`.t ``): the list writes no schema as null. */
function qualifiesWithNull(sql: string, tokens: readonly LexToken[]): boolean {
  const code = tokens.filter((t) => t.kind !== "comment");
  return code.some((token, i) => {
    const next = code[i + 1];
    const raw = sql.slice(token.start, token.end);
    const word = token.kind === "quoted_identifier" ? raw.slice(1, -1) : token.kind === "word" ? raw : "";
    return word.toLowerCase() === "null" && next !== undefined && sql[next.start] === ".";
  });
}

function rejected(why: string): DbwardError {
  return new DbwardError("sql.rejected", `no dry run: ${why}; nothing was run`);
}
