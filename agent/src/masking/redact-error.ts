/**
 * Database errors of a job whose token carries masks. A message can quote stored values: a
 * unique violation's `Key (email)=(…)`, `invalid input syntax for type integer: "…"` of a cast
 * over a column, a check constraint's `Failing row contains (…)`, MySQL's `Duplicate entry '…'`.
 * So only errors whose text can quote nothing but the statement and names keep their message
 * (a syntax error, an unknown table or column, a denied privilege, a read-only transaction);
 * and only when every part they quote is text of the statement (a value cast to a name is quoted
 * under a safe code); every other keeps its SQLSTATE or MySQL error code and gets a generic message. pg's message never holds
 * DETAIL or WHERE, so those are dropped already.
 */
import { DbwardError } from "@dbward/shared";

/** PostgreSQL SQLSTATEs whose message names only identifiers or quotes the statement's text. */
const PG_SAFE = new Set(["42601", "42703", "42P01", "42883", "42501", "25006", "42P10", "42803"]);
/** MySQL/MariaDB error codes (mysql2's names of the errnos) of the same kind. */
const MYSQL_SAFE = new Set([
  "ER_PARSE_ERROR",
  "ER_BAD_FIELD_ERROR",
  "ER_NO_SUCH_TABLE",
  "ER_TABLEACCESS_DENIED_ERROR",
  "ER_COLUMNACCESS_DENIED_ERROR",
  "ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION",
  "ER_MIX_OF_GROUP_FUNC_AND_FIELDS",
  "ER_WRONG_FIELD_WITH_GROUP",
]);

/** MySQL's names for the clause an unknown column stands in: quoted, yet not from the statement. */
const MYSQL_CLAUSES = new Set([
  "field list",
  "where clause",
  "order clause",
  "on clause",
  "group statement",
  "having clause",
]);

/**
 * Whether every quoted part of `message` is text of the statement itself. A safe code is not
 * enough: a value cast to a name quotes the value under one (`split_part(email, '@', 1)::regclass`
 * fails with 42P01 `relation "alice" does not exist`).
 */
function quotesOnlyStatement(message: string, sql: string): boolean {
  const text = sql.toLowerCase();
  for (const m of message.matchAll(/"([^"]*)"|'([^']*)'/g)) {
    const quoted = (m[1] ?? m[2] ?? "").toLowerCase();
    if (!text.includes(quoted) && !MYSQL_CLAUSES.has(quoted)) return false;
  }
  return true;
}

/** The failure to report for a database error `code` when masks are on; the original when safe. */
export function redactedFailure(
  original: DbwardError,
  dialect: "postgres" | "mysql",
  code: string | undefined,
  sql: string,
): DbwardError {
  if (
    code !== undefined &&
    (dialect === "postgres" ? PG_SAFE : MYSQL_SAFE).has(code) &&
    quotesOnlyStatement(original.message, sql)
  )
    return original;
  const what = code === undefined ? "" : dialect === "postgres" ? ` (SQLSTATE ${code})` : ` (error ${code})`;
  return new DbwardError(
    original.code,
    `the database refused the statement${what}; its message is withheld because this result has masked columns and the message could quote their values`,
    original.details,
  );
}
