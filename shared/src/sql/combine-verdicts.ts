/**
 * Combines the verdicts of a text's statements into one review: the multi-statement policy, the
 * `mixed_ddl_dml` rule, configured severities, the risk and the statements to run.
 * Dialect-independent.
 */
import { checkFinding } from "./checks.ts";
import { rejectedReview } from "./guards.ts";
import { assessRisk } from "./risk.ts";
import { reviewedStatements } from "./reviewed-statements.ts";
import { findingForHit, type RuleHit } from "./rules.ts";
import type { CatalogReferences, SqlClass, SqlFinding, SqlReview, SqlReviewOptions } from "./review.ts";
import { stricterClass, type StatementVerdict } from "./statement-verdict.ts";

/** `sql`: the reviewed text, which the verdicts' spans point into. */
export function combineVerdicts(
  sql: string,
  verdicts: readonly StatementVerdict[],
  options: SqlReviewOptions,
): SqlReview {
  if (verdicts.length === 0) {
    return rejectedReview([
      checkFinding("empty_sql", "block", "the SQL text holds no statement, only comments", {
        hint: "send the statement to run",
      }),
    ]);
  }
  const main = verdicts.filter((v) => v.class !== "session");
  const hits: RuleHit[] = verdicts.flatMap((v) => v.hits);
  const mixed = mixedDdlDml(main);
  if (mixed !== undefined) hits.push(mixed);
  const findings: SqlFinding[] = [
    ...verdicts.flatMap((v) => v.notes),
    ...structureFindings(verdicts, main, options.multipleStatements ?? "reject"),
  ];
  for (const hit of hits) {
    const finding = findingForHit(hit, options.rules);
    if (finding !== undefined) findings.push(finding);
  }
  const refused = findings.some((f) => f.severity === "block" && isStructural(f.rule));
  const cls = refused
    ? "rejected"
    : main.reduce<SqlClass>((acc, v) => stricterClass(acc, asClass(v)), "read");
  if (cls === "rejected") return rejectedReview(findings);
  const risk = assessRisk({
    class: cls,
    hits,
    writingStatements: main.filter((v) => v.class !== "read").length,
    effectUnknown: main.some((v) => v.effectUnknown),
    sideEffects: main.some((v) => v.notes.some((n) => n.rule === "side_effect_function")),
    targets: main.flatMap((v) => v.targets),
    schema: options.schema,
  });
  const unverifiedCalls = [...new Set(main.flatMap((v) => v.unverified ?? []))];
  const targets = [...new Set(main.flatMap((v) => v.targets))];
  const references = cls === "read" ? mergeReferences(main) : undefined;
  return {
    class: cls,
    risk,
    findings,
    statements: reviewedStatements(sql, verdicts),
    ...(unverifiedCalls.length > 0 ? { unverifiedCalls } : {}),
    ...(targets.length > 0 ? { targets } : {}),
    ...(references === undefined ? {} : { references }),
  };
}

/** The names every read statement resolves; undefined when one of them has none to give. */
function mergeReferences(main: readonly StatementVerdict[]): CatalogReferences | undefined {
  const all = main.map((v) => v.references);
  if (all.length === 0 || all.some((r) => r === undefined)) return undefined;
  if (all.length === 1) return all[0];
  const union = (pick: (r: CatalogReferences) => readonly string[]): string[] => [
    ...new Set(all.flatMap((r) => (r === undefined ? [] : pick(r)))),
  ];
  return {
    functions: union((r) => r.functions),
    operators: union((r) => r.operators),
    types: union((r) => r.types),
    fields: union((r) => r.fields),
  };
}

/** Findings that refuse the whole text, as opposed to rule findings the policy weighs. */
const STRUCTURAL = new Set<string>([
  "multiple_statements",
  "settings_only",
  "setting_after_statement",
  "rejected_statement",
  "unsafe_setting",
  "server_file",
  "executable_comment",
  "ambiguous_text",
  "empty_sql",
]);

function isStructural(rule: string): boolean {
  return STRUCTURAL.has(rule);
}

function asClass(verdict: StatementVerdict): SqlClass {
  return verdict.class === "session" ? "read" : verdict.class;
}

function structureFindings(
  verdicts: readonly StatementVerdict[],
  main: readonly StatementVerdict[],
  mode: "reject" | "allow",
): SqlFinding[] {
  const first = main[0];
  if (first === undefined) {
    return [
      checkFinding("settings_only", "block", "the SQL text only changes session settings", {
        hint: "send settings together with the statement they are for",
      }),
    ];
  }
  if (mode === "allow") return [];
  const out: SqlFinding[] = [];
  const second = main[1];
  if (second !== undefined) {
    out.push(
      checkFinding("multiple_statements", "block", `the SQL text holds ${main.length} statements`, {
        position: second.position,
        hint: "send one statement per request (safe SET statements may come before it)",
      }),
    );
  }
  const late = verdicts.find((v) => v.class === "session" && v.position > first.position);
  if (late !== undefined) {
    out.push(
      checkFinding("setting_after_statement", "block", "a session setting follows the statement", {
        position: late.position,
        hint: "put SET statements before the statement they are for",
      }),
    );
  }
  return out;
}

function mixedDdlDml(main: readonly StatementVerdict[]): RuleHit | undefined {
  if (!main.some((v) => v.class === "ddl")) return undefined;
  const write = main.find((v) => v.class === "write");
  return write === undefined ? undefined : { rule: "mixed_ddl_dml", position: write.position };
}
