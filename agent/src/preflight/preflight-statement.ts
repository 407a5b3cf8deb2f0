/**
 * What a preflight (an EXPLAIN, or a dry run that is always rolled back) accepts: one statement,
 * read by the agent's own SQL review, never a text that is itself an EXPLAIN/ANALYZE/DESCRIBE
 * (EXPLAIN ANALYZE runs its statement), never DDL (MySQL and MariaDB commit it implicitly, so no
 * ROLLBACK can undo it), never session settings or a second statement.
 *
 * The statement's kind is its first token. The review delimits each statement from its first
 * token on (`ReviewedStatement.text`: leading whitespace and comments are not part of it), so the
 * kind is read from what the reviewer's own lexer found, not from a second parse of the text.
 */
import { DbwardError, reviewSql, type SqlReview, type SqlReviewOptions } from "@dbward/shared";

/** The engines a preflight runs on (the dialect its SQL is reviewed in). */
export type PreflightDialect = "postgres" | "mysql";

/** `explain` plans without running; `dry_run` runs a change and rolls it back. */
export type PreflightPurpose = "explain" | "dry_run";

/** `with`: a query that starts with a WITH clause (EXPLAIN only). */
export type StatementKind = "select" | "with" | "insert" | "update" | "delete" | "replace";

/** The one statement a preflight runs, as the review delimited it. */
export interface PreflightStatement {
  /** The statement alone, from its first token (no `;`); run it as it is, never append to it. */
  readonly text: string;
  readonly kind: StatementKind;
  /** The review's class: `read` only when the review proved the statement free of side effects. */
  readonly reviewClass: "read" | "write";
}

const KINDS: Readonly<Record<string, StatementKind>> = {
  SELECT: "select",
  WITH: "with",
  INSERT: "insert",
  UPDATE: "update",
  DELETE: "delete",
  REPLACE: "replace",
};

/** Kinds each purpose accepts, per engine. REPLACE is MySQL's; a dry run changes rows, so no reads. */
const ACCEPTED: Readonly<
  Record<PreflightPurpose, Readonly<Record<PreflightDialect, readonly StatementKind[]>>>
> = {
  explain: {
    postgres: ["select", "with", "insert", "update", "delete"],
    mysql: ["select", "with", "insert", "update", "delete", "replace"],
  },
  dry_run: {
    postgres: ["insert", "update", "delete"],
    mysql: ["insert", "update", "delete", "replace"],
  },
};

/** Words that start a statement that is itself a plan or a description of one. */
const PLAN_WORDS = new Set(["EXPLAIN", "ANALYZE", "ANALYSE", "DESCRIBE", "DESC"]);

const ACCEPTED_TEXT: Readonly<Record<PreflightPurpose, string>> = {
  explain: "one SELECT, INSERT, UPDATE or DELETE",
  dry_run: "one INSERT, UPDATE or DELETE",
};

function rejected(message: string): DbwardError {
  return new DbwardError("sql.rejected", message);
}

/**
 * The statement `sql` holds, when a preflight of `purpose` may run it; throws `sql.rejected`
 * saying why otherwise. Call `initSqlReview()` first: before it every text is unreadable.
 */
export function assertPreflightStatement(
  sql: string,
  dialect: PreflightDialect,
  purpose: PreflightPurpose,
  reviewOptions: SqlReviewOptions = {},
): PreflightStatement {
  let review: SqlReview;
  try {
    review = reviewSql(sql, dialect, reviewOptions);
  } catch (err) {
    // Fail closed (SECURITY.md principle 2): a reviewer that cannot answer is a refusal.
    throw rejected(`SQL review failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (review.class === "rejected") {
    throw rejected(`the SQL is not allowed: ${review.findings.map((f) => f.message).join("; ")}`);
  }
  const [statement, ...more] = review.statements;
  if (statement === undefined) {
    throw rejected(
      "the SQL review could not tell where the statement begins and ends, so no preflight runs it",
    );
  }
  if (more.length > 0 || statement.kind !== "main") {
    throw rejected(
      `a preflight takes ${ACCEPTED_TEXT[purpose]} alone, without session settings or other statements; this text has ${review.statements.length}`,
    );
  }
  const word = /^[A-Za-z]+(?![\w$])/.exec(statement.text)?.[0].toUpperCase() ?? "";
  if (PLAN_WORDS.has(word)) {
    throw rejected(
      `the SQL is itself ${word.startsWith("DESC") ? "a" : "an"} ${word}: a preflight plans the statement itself, never an EXPLAIN (EXPLAIN ANALYZE would run it); send the statement without ${word}`,
    );
  }
  if (review.class === "ddl") {
    throw rejected(`the SQL reviews as DDL: a preflight takes ${ACCEPTED_TEXT[purpose]}`);
  }
  const kind = KINDS[word];
  if (kind === undefined || !ACCEPTED[purpose][dialect].includes(kind)) {
    const what = word === "" ? "a statement that does not start with a keyword" : `a ${word} statement`;
    throw rejected(
      `a preflight ${purpose === "explain" ? "EXPLAIN" : "dry run"} takes ${ACCEPTED_TEXT[purpose]}; this is ${what}`,
    );
  }
  if (purpose === "dry_run" && review.class !== "write") {
    throw rejected(`the SQL reviews as ${review.class}: a dry run takes ${ACCEPTED_TEXT[purpose]}`);
  }
  return { text: statement.text, kind, reviewClass: review.class };
}
