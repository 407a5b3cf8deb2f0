/**
 * Regenerates `shared/src/sql/mysql-allowlist-data.ts` from a real MariaDB server: the function
 * names of its help tables (`mysql.help_topic`, `mysql.help_category`), kept only where the server
 * itself confirms the name is a native function, minus the never-a-read table and the hand review
 * in `mysql-allowlist-notes.ts`. Run it against the oldest MariaDB dbward supports, review the
 * diff by hand, and commit both:
 *
 *   node --import tsx scripts/sql-allowlist/mysql.ts [mysql://root@127.0.0.1:3306/test]
 *
 * Whether a name is native is asked of the server's parser, never by running anything: each
 * call shape (`name()`, then with 1 to 3 arguments, then with `OVER ()`; or the name's own
 * spelling in SYNTAX_PROBES) is only PREPAREd, which resolves the name without executing it. A
 * name that is no native function resolves to a stored function of the default database and
 * fails with ER_SP_DOES_NOT_EXIST (1305) or ER_FUNC_INEXISTENT_NAME_COLLISION (1630), a keyword
 * that takes no such call fails with ER_PARSE_ERROR (1064); a native function prepares, or fails
 * for another reason (a wrong argument count, 1582; an unknown sequence or column).
 *
 * MySQL-only built-ins cannot be checked here; they are listed by hand in MYSQL_ONLY.
 */
import { writeFileSync } from "node:fs";
import mysql from "mysql2/promise";
import { EXCLUDED, SYNTAX_PROBES } from "../../shared/src/sql/mysql-allowlist-notes.ts";
import { neverAReadCategory } from "../../shared/src/sql/never-a-read.ts";

const OUT = new URL("../../shared/src/sql/mysql-allowlist-data.ts", import.meta.url);

/** Help categories about statements, types and plugins rather than functions. */
const NOT_FUNCTIONS = [
  "Account Management",
  "Administration",
  "Compound Statements",
  "Data Definition",
  "Data Manipulation",
  "Data Types",
  "Help Metadata",
  "Language Structure",
  "Plugins",
  "Procedures",
  "Table Maintenance",
  "Transactions",
  "User-Defined Functions",
  "Utility",
];

/** Call shapes tried for each name; spellings that need their own syntax are in SYNTAX_PROBES. */
const PROBES = ["()", "(1)", "(1, 1)", "(1, 1, 1)", "() OVER ()", "(1) OVER ()", "(1, 1) OVER ()"];
const NOT_A_FUNCTION = new Set([1305, 1630]);
const PARSE_ERROR = 1064;

/**
 * Whether MariaDB resolves `name` as a native function, without running anything: native when
 * one of the call shapes prepares, or fails for a reason other than "no such function" or a
 * syntax error (a wrong argument count or type, an unknown sequence).
 */
export async function isNative(conn: mysql.Connection, name: string): Promise<boolean> {
  const special = SYNTAX_PROBES[name];
  const shapes = special === undefined ? PROBES.map((args) => `SELECT ${name}${args}`) : [special];
  for (const sql of shapes) {
    const errno = await prepareErrno(conn, sql);
    if (errno === undefined) return true;
    if (!NOT_A_FUNCTION.has(errno) && errno !== PARSE_ERROR) return true;
  }
  return false;
}

/** The errno of preparing `sql`, or undefined when it prepares. The text is never executed. */
async function prepareErrno(conn: mysql.Connection, sql: string): Promise<number | undefined> {
  await conn.query("SET @dbward_probe = ?", [sql]);
  try {
    await conn.query("PREPARE dbward_probe FROM @dbward_probe");
    await conn.query("DEALLOCATE PREPARE dbward_probe");
    return undefined;
  } catch (error) {
    const errno: unknown = error instanceof Error ? Reflect.get(error, "errno") : undefined;
    return typeof errno === "number" ? errno : -1;
  }
}

/** `ST\_AREA` → `st_area`; `IF Function` → `if`; anything with other words → undefined. */
export function topicFunctionName(topic: string): string | undefined {
  const plain = topic
    .replace(/\\_/g, "_")
    .replace(/ (Function|FUNCTION)$/, "")
    .toLowerCase();
  return /^[a-z_][a-z0-9_]*$/.test(plain) ? plain : undefined;
}

async function main(): Promise<void> {
  const conn = await mysql.createConnection(process.argv[2] ?? "mysql://root@127.0.0.1:3306/test");
  try {
    const [versionRows] = await conn.query({ sql: "SELECT VERSION()", rowsAsArray: true });
    const version = String((versionRows as unknown[][])[0]?.[0] ?? "?");
    const [rows] = await conn.query({
      sql: `SELECT t.name FROM mysql.help_topic t JOIN mysql.help_category c USING (help_category_id)
             WHERE c.name NOT IN (?)`,
      values: [NOT_FUNCTIONS],
      rowsAsArray: true,
    });
    const candidates = [
      ...new Set((rows as unknown[][]).map((r) => topicFunctionName(String(r[0]))).filter(isName)),
    ].sort();
    const listed: string[] = [];
    const dropped: string[] = [];
    for (const name of candidates) {
      if (neverAReadCategory("mysql", name) !== undefined || name in EXCLUDED) continue;
      if (await isNative(conn, name)) listed.push(name);
      else dropped.push(name);
    }
    writeFileSync(OUT, render(version, listed));
    console.log(`${listed.length} functions from MariaDB ${version}'s help tables`);
    console.log(`not native functions there: ${dropped.join(", ")}`);
  } finally {
    await conn.end();
  }
}

function isName(value: string | undefined): value is string {
  return value !== undefined;
}

function render(version: string, functions: readonly string[]): string {
  const list = functions.map((f) => `  ${JSON.stringify(f)},`).join("\n");
  return `/**
 * Generated by scripts/sql-allowlist/mysql.ts from MariaDB ${version}'s help tables, each
 * name confirmed native by the server, minus the never-a-read table and the hand review in
 * mysql-allowlist-notes.ts. Do not edit by hand: change the notes and run the script again.
 */

/** Native MariaDB functions, aggregates and window functions that only read (lower case). */
export const MARIADB_FUNCTIONS: readonly string[] = [
${list}
];
`;
}

if (import.meta.url === `file://${process.argv[1] ?? ""}`) await main();
