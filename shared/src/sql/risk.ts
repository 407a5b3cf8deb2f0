/**
 * Risk: a one-word summary for approvers, derived from the class and the rule hits. Hits count
 * whatever their configured severity, because risk describes the SQL, not the policy: a DROP
 * TABLE is high risk even where the `drop_table` rule is set to warn.
 *
 *  - rejected → critical (dbward will not run it; the text tried something it never does)
 *  - no parser could read the text → unavailable (set by the caller, not here)
 *  - read → low, unless a rule hit (a large IN list) lifts it
 *  - write, ddl → medium; CALL, DO and EXECUTE → unknown (what runs is not in the text)
 *  - each rule hit lifts the risk to at least the rule's own level (RULE_TEXT); two or more hits
 *    climb one more level; a text with several writing statements is at least high
 *  - a write or DDL on a table listed in `SchemaRiskFactors.largeTables` climbs one level
 *  - a call in a never-a-read category (never-a-read.ts) makes it at least high
 */
import { RULE_TEXT, type RuleHit } from "./rules.ts";
import type { SchemaRiskFactors, SqlClass, SqlRisk } from "./review.ts";

type Level = "low" | "medium" | "high" | "critical";
const LEVELS: readonly Level[] = ["low", "medium", "high", "critical"];

export interface RiskInput {
  readonly class: SqlClass;
  readonly hits: readonly RuleHit[];
  /** Statements that are not session settings. */
  readonly writingStatements: number;
  readonly effectUnknown: boolean;
  /** A call in a never-a-read category (a lock, a signal, a file, a sleep): at least high. */
  readonly sideEffects?: boolean;
  readonly targets: readonly string[];
  readonly schema?: SchemaRiskFactors | undefined;
}

export function assessRisk(input: RiskInput): SqlRisk {
  if (input.class === "rejected") return "critical";
  if (input.class === "read") return maxLevel(input.hits);
  if (input.effectUnknown) return "unknown";
  let level: Level = "medium";
  level = higher(level, maxLevel(input.hits));
  if (input.hits.length >= 2) level = climb(level, 1);
  if (input.writingStatements > 1) level = higher(level, "high");
  // `SELECT pg_terminate_backend(pid) …` is a write of a kind no "medium" threshold should pass.
  if (input.sideEffects === true) level = higher(level, "high");
  const large = input.schema?.largeTables;
  if (large !== undefined && input.targets.some((table) => large.has(table))) level = climb(level, 1);
  return level;
}

/**
 * `risk` raised to at least `floor`, for a hit found outside the dialect's review. `unknown` and
 * `unavailable` stay: they say the risk could not be assessed, which a floor does not change.
 */
export function raiseRisk(risk: SqlRisk, floor: Level): SqlRisk {
  return risk === "unknown" || risk === "unavailable" ? risk : higher(risk, floor);
}

function maxLevel(hits: readonly RuleHit[]): Level {
  return hits.reduce<Level>((level, hit) => higher(level, RULE_TEXT[hit.rule].risk), "low");
}

function higher(a: Level, b: Level): Level {
  return LEVELS.indexOf(a) >= LEVELS.indexOf(b) ? a : b;
}

function climb(level: Level, steps: number): Level {
  return LEVELS[Math.min(LEVELS.indexOf(level) + steps, LEVELS.length - 1)] ?? "critical";
}
