/**
 * The verdict for a statement the grammar of `mysql-grammar.ts` recognised: a read when it
 * matched a read-only form exactly and every expression in it (SHOW … WHERE, VALUES rows)
 * passes the same checks as a query; otherwise a write that needs approval, with the reason.
 */
import { collectObjects, isAstObject, text, type AstObject } from "./ast-walk.ts";
import { checkFinding } from "./checks.ts";
import { findNspEffects, lexerEffects, namesNotCalled, type NspContext } from "./mysql-effects.ts";
import type { GrammarMatch } from "./mysql-grammar.ts";
import type { MysqlStatementText } from "./mysql-text-checks.ts";
import type { SqlFinding } from "./review.ts";
import type { StatementVerdict } from "./statement-verdict.ts";

/** Parses one SELECT text; a string is the parser's error. */
export type ParseSelect = (text: string) => AstObject | string;

export function grammarVerdict(
  match: GrammarMatch,
  statement: MysqlStatementText,
  ctx: NspContext,
  parse: ParseSelect,
): StatementVerdict {
  const base = { position: statement.start, span: statement.span, hits: [], targets: [] };
  if (match.kind === "not_read") {
    const note = checkFinding("not_a_read", "warn", match.reason, {
      position: statement.start,
      hint: "a statement dbward cannot prove read-only needs approval",
    });
    return { ...base, class: "write", notes: [note], effectUnknown: false };
  }
  const notes: SqlFinding[] = [];
  const unverified: string[] = [];
  const functions = new Set<string>();
  let notARead = false;
  const notCalls = new Set<string>();
  for (const query of match.queries) {
    const ast = parse(query.text);
    if (!isAstObject(ast) || text(ast, "type") !== "select") {
      notARead = true;
      notes.push(
        checkFinding("parse_error", "warn", "an expression in this statement could not be read", {
          position: query.position,
          hint: "a statement dbward cannot prove read-only needs approval",
        }),
      );
      continue;
    }
    const objects = collectObjects(ast);
    for (const name of namesNotCalled(objects)) notCalls.add(name);
    const effects = findNspEffects(ast, objects, { ...ctx, start: query.position });
    notes.push(...effects.notes);
    unverified.push(...effects.unverified);
    for (const f of effects.references.functions) functions.add(f);
    notARead ||= effects.notARead;
  }
  if (!notARead) {
    const extra = lexerEffects(statement.tokens, ctx, notCalls);
    notes.push(...extra.notes);
    unverified.push(...extra.unverified);
    notARead = extra.notes.length > 0;
  }
  return {
    ...base,
    class: notARead ? "write" : "read",
    notes,
    effectUnknown: unverified.length > 0,
    ...(unverified.length > 0 ? { unverified } : {}),
    ...(notARead ? {} : { references: { functions: [...functions], operators: [], types: [], fields: [] } }),
  };
}
