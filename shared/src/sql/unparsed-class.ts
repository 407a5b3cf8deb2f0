/**
 * The class of a statement no parser could read, from its first words. It is never `read`
 * (SECURITY.md, fail closed): `write` by default, `ddl` when it starts with a schema verb, and
 * `rejected` when it starts with something dbward never runs. node-sql-parser does not know
 * every MySQL/MariaDB statement (SET ROLE, CREATE FUNCTION, XA, …), so without this a refused
 * kind of statement would come back as an ordinary write.
 */
import { checkFinding } from "./checks.ts";
import type { SqlFinding, SqlReview } from "./review.ts";
import type { RuleHit, SqlReviewRule } from "./rules.ts";
import type { StatementVerdict, TextSpan } from "./statement-verdict.ts";

export interface UnparsedClass {
  readonly class: "write" | "ddl" | "rejected";
  /** Why it is rejected, for the finding. */
  readonly reason?: string;
}

const REJECTED_FIRST = new Set([
  "grant",
  "revoke",
  "start",
  "begin",
  "commit",
  "rollback",
  "savepoint",
  "release",
  "xa",
  "lock",
  "unlock",
  "use",
  "load",
  "kill",
  "flush",
  "reset",
  "purge",
  "change",
  "install",
  "uninstall",
  "shutdown",
  "restart",
  "clone",
  "handler",
  "attach",
  "detach",
  "pragma",
  "set",
  "backup",
  "binlog",
  "cache",
]);

/** Objects that CREATE, ALTER, DROP or RENAME may not touch through dbward. */
const REJECTED_OBJECTS = new Set([
  "user",
  "role",
  "database",
  "schema",
  "function",
  "procedure",
  "trigger",
  "event",
  "server",
  "tablespace",
  "logfile",
  "extension",
  "aggregate",
  "instance",
  "definer",
  "sql",
  "language",
  "policy",
  "rule",
  "publication",
  "subscription",
]);

const DDL_FIRST = new Set([
  "create",
  "alter",
  "drop",
  "truncate",
  "rename",
  "optimize",
  "analyze",
  "repair",
  "vacuum",
  "reindex",
  "cluster",
  "comment",
]);

/** `words`: the statement's first words, in order, as written (any case). */
export function classOfUnparsed(words: readonly string[]): UnparsedClass {
  const [first = "", ...rest] = words.map((w) => w.toLowerCase());
  if (REJECTED_FIRST.has(first)) {
    return { class: "rejected", reason: `dbward does not run ${first.toUpperCase()} statements` };
  }
  if (first === "vacuum" && rest.includes("into")) {
    return { class: "rejected", reason: "dbward does not run VACUUM INTO, which writes a database file" };
  }
  if (DDL_FIRST.has(first)) {
    // Skip modifiers such as OR REPLACE, TEMPORARY, UNIQUE, ALGORITHM=… to reach the object kind.
    const object = rest.slice(0, 4).find((w) => REJECTED_OBJECTS.has(w));
    if (object !== undefined) {
      return {
        class: "rejected",
        reason: `dbward does not run ${first.toUpperCase()} ${object.toUpperCase()}`,
      };
    }
    return { class: "ddl" };
  }
  return { class: "write" };
}

/**
 * Rule hits read from the words of a statement no parser could read, so that a blocking rule
 * (DROP TABLE, TRUNCATE, DELETE without WHERE) cannot be slipped past by syntax the parser lacks.
 * `words`: every token's text, in order.
 */
export function unparsedRuleHits(words: readonly string[], position: number): RuleHit[] {
  const lower = words.map((w) => w.toLowerCase());
  const [first = "", second = ""] = lower;
  const hits: RuleHit[] = [];
  const add = (rule: SqlReviewRule): void => {
    hits.push({ rule, position });
  };
  if (first === "drop") {
    const rule = lower
      .slice(1, 3)
      .map((w) => DROP_RULES.get(w))
      .find((r) => r !== undefined);
    if (rule !== undefined) add(rule);
  }
  if (first === "truncate") add("truncate");
  if (first === "create" && lower.slice(1, 4).includes("sequence")) add("create_sequence");
  if (first === "delete" && !lower.includes("where")) add("no_where_delete");
  if (first === "update" && !lower.includes("where")) add("no_where_update");
  if (["drop", "truncate", "alter"].includes(first) && lower.includes("cascade")) add("cascade");
  if (
    first === "alter" &&
    second === "table" &&
    lower.some((w, i) => w === "drop" && lower[i + 1] === "column")
  ) {
    add("drop_column");
  }
  return hits;
}

const DROP_RULES: ReadonlyMap<string, SqlReviewRule> = new Map([
  ["table", "drop_table"],
  ["temporary", "drop_table"],
  ["index", "drop_index"],
  ["view", "drop_view"],
  ["materialized", "drop_view"],
  ["sequence", "drop_sequence"],
]);

/**
 * The verdict for a statement no parser could read: its class from its first words, the parse
 * finding, a rejection when the words name something dbward never runs, and the word-level rules.
 * `span`: where the statement is, when a lexer could tell.
 */
export function unparsedVerdict(
  words: readonly string[],
  position: number,
  parseFinding: SqlFinding,
  span: TextSpan | undefined,
): StatementVerdict {
  const fallback = classOfUnparsed(words);
  const notes =
    fallback.class === "rejected"
      ? [
          parseFinding,
          checkFinding("rejected_statement", "block", fallback.reason ?? "rejected", { position }),
        ]
      : [parseFinding];
  return {
    class: fallback.class,
    position,
    span,
    notes,
    hits: unparsedRuleHits(words, position),
    effectUnknown: false,
    targets: [],
  };
}

/** A review that includes an unread statement has no assessed risk, unless it is rejected anyway. */
export function markUnassessed(review: SqlReview): SqlReview {
  return review.class === "rejected" ? review : { ...review, risk: "unavailable" };
}
