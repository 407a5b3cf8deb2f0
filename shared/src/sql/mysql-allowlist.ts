/**
 * The MySQL/MariaDB (and SQLite demo) allowlist: which names in a query are proven to be
 * side-effect-free built-ins. Function names are case-insensitive and quoting does not change
 * how they resolve (`` `SLEEP`(1) `` is the built-in), so names are compared lower-cased. A
 * qualified name (`db.f()`) is always a stored function, never a built-in.
 *
 * MySQL and MariaDB share one list: a text is reviewed without knowing which server runs it, so
 * a name is listed when it is a side-effect-free built-in of either. Where it is a built-in of
 * one only, the other resolves it to a stored or loadable function, which the agent's catalogue
 * check refuses (`agent/src/drivers/mysql.ts`).
 */
import { MARIADB_FUNCTIONS } from "./mysql-allowlist-data.ts";
import {
  CAST_TYPES,
  EXCLUDED,
  MYSQL_ONLY,
  OPERATORS,
  SQLITE_FUNCTIONS,
  SYNTAX_CALLS,
} from "./mysql-allowlist-notes.ts";

export type MysqlFamily = "mysql" | "sqlite";

const FUNCTIONS: Readonly<Record<MysqlFamily, ReadonlySet<string>>> = {
  mysql: new Set([...MARIADB_FUNCTIONS, ...Object.keys(MYSQL_ONLY)]),
  sqlite: new Set(SQLITE_FUNCTIONS),
};
const SYNTAX: ReadonlySet<string> = new Set(SYNTAX_CALLS);
const OPERATOR_SET: ReadonlySet<string> = new Set(OPERATORS);
const TYPES: ReadonlySet<string> = new Set(CAST_TYPES);

/** Whether `name` (unqualified, any case) is a listed built-in function, aggregate or window function. */
export function isMysqlBuiltinFunction(dialect: MysqlFamily, name: string): boolean {
  return FUNCTIONS[dialect].has(name.toLowerCase());
}

/** Whether node-sql-parser reads `name` as a call although it is syntax (`EXISTS (…)`, `ROW(…)`). */
export function isSyntaxCall(name: string): boolean {
  return SYNTAX.has(name.toLowerCase());
}

/** Whether `operator` (as node-sql-parser spells it) is a listed built-in operator. */
export function isMysqlBuiltinOperator(operator: string): boolean {
  return OPERATOR_SET.has(operator.toUpperCase());
}

/** Whether `type` (`CHAR(10)`, `DECIMAL`, `SIGNED INTEGER`) is a listed cast target. */
export function isMysqlCastType(type: string): boolean {
  const base = type.replace(/\(.*$/s, "").trim().replace(/\s+/g, " ").toLowerCase();
  return TYPES.has(base);
}

/** Why a built-in was left off by hand, when it was. */
export function mysqlExclusionReason(name: string): string | undefined {
  const lower = name.toLowerCase();
  return Object.hasOwn(EXCLUDED, lower) ? EXCLUDED[lower] : undefined;
}
