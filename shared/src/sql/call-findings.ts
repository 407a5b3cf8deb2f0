/**
 * The findings of the allowlist check, the same words for every dialect: what was called, and
 * why that makes the statement something other than a proven read. Names come from the SQL, so
 * they are written with invisible characters escaped: a finding is read by the approver too.
 */
import { checkFinding } from "./checks.ts";
import { displaySql } from "./display-sql.ts";
import { NEVER_A_READ_TEXT, type NeverAReadCategory } from "./never-a-read.ts";
import type { SqlFinding } from "./review.ts";

/** `pg_sleep()` in a read: it is a side effect, whatever the transaction. */
export function neverAReadNote(
  name: string,
  category: NeverAReadCategory,
  position: number | undefined,
): SqlFinding {
  return checkFinding(
    "side_effect_function",
    "warn",
    `calls ${displaySql(name)}(), which ${NEVER_A_READ_TEXT[category]}`,
    {
      position,
      hint: "a query that sleeps, locks, signals, touches files or changes state is never a read; it needs approval",
    },
  );
}

/** A function the database's `sql_review` config lists as having side effects. */
export function configuredSideEffectNote(name: string, position: number | undefined): SqlFinding {
  return checkFinding(
    "side_effect_function",
    "warn",
    `calls ${displaySql(name)}(), which this database's configuration lists as having side effects`,
    { position, hint: "a query with side effects is never a read; it needs approval" },
  );
}

/**
 * A call the allowlist cannot prove: `what` names it (`my_func()`, `operator ###`,
 * `type money2`), `why` says what it is.
 */
export function unverifiedNote(what: string, why: string, position: number | undefined): SqlFinding {
  return checkFinding(
    "unverified_call",
    "warn",
    `${displaySql(what)}: ${why}; dbward cannot prove it free of side effects, so the statement is not a read and a person must approve it`,
    {
      position,
      hint: "if it only reads, an administrator can trust it for this database (sql_review trusted_functions, and the agent's trusted_functions)",
    },
  );
}

/** A call of a function the configuration declares side-effect-free for this database. */
export function trustedNote(name: string, position: number | undefined): SqlFinding {
  return checkFinding(
    "trusted_function",
    "warn",
    `calls ${displaySql(name)}(), trusted by config as free of side effects on this database`,
    { position },
  );
}
