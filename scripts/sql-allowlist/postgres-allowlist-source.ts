/**
 * Builds the text of `shared/src/sql/postgres-allowlist-data.ts` from a real PostgreSQL server's
 * catalogue (`pg_proc`, `pg_operator`, `pg_type`, the system views' definitions), applying the
 * hand review in `postgres-allowlist-notes.ts` and the never-a-read table. Pure apart from the
 * queries, so the CLI (`postgres.ts`) writes it and a test compares it with the committed file.
 *
 * Built in means created by initdb (OID below FirstNormalObjectId, 16384) and not part of an
 * extension: a superuser can install an extension, or create a function, in pg_catalog later.
 *
 * A function name is listed only when every pg_catalog overload of it is acceptable:
 *  - a plain function, aggregate or window function (not a procedure);
 *  - callable from SQL: no `internal` argument, no trigger or handler result, and no `cstring`
 *    argument or result: type input and output functions are the type's own machinery, and an
 *    input function given a type OID (`domain_in('1', 'd'::regtype, -1)`) runs that type's
 *    code, a domain's CHECK constraints included, which the text never names;
 *  - immutable or stable, or volatile with a reason in VOLATILE_ALLOWED;
 *  - not in a never-a-read category and not EXCLUDED.
 * An operator is listed when every pg_catalog operator of that name is implemented by a listed
 * function; a type when it is a pg_catalog or information_schema type that is not a pseudo-type.
 * A pg_catalog view is listed with the never-a-read function its definition calls, if any.
 */
import type pg from "pg";
import { list, pgNode, pgTree, text } from "../../shared/src/sql/ast-walk.ts";
import { neverAReadCategory } from "../../shared/src/sql/never-a-read.ts";
import { EXCLUDED, VOLATILE_ALLOWED } from "../../shared/src/sql/postgres-allowlist-notes.ts";
import { loadSqlParsers, pgParser } from "../../shared/src/sql/sql-parsers.ts";

const FIRST_USER_OID = 16384;
const NOT_CALLABLE = [
  "internal",
  "cstring",
  "cstring[]",
  "trigger",
  "event_trigger",
  "language_handler",
  "fdw_handler",
  "index_am_handler",
  "table_am_handler",
  "tsm_handler",
];

interface ProcRow {
  readonly proname: string;
  readonly prokind: string;
  readonly provolatile: string;
  readonly callable: boolean;
  readonly builtin: boolean;
}

export interface PgAllowlist {
  readonly text: string;
  readonly functions: readonly string[];
  readonly operators: readonly string[];
  readonly types: readonly string[];
  readonly views: Readonly<Record<string, string>>;
  /** The server's major version, as named in the file's header. */
  readonly major: number;
}

/** Reads the catalogue through `client` and renders the allowlist file. */
export async function buildPgAllowlist(client: pg.ClientBase): Promise<PgAllowlist> {
  const versionNum = (await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v"))
    .rows[0]?.v;
  const major = Math.floor(Number(versionNum ?? "0") / 10000);
  const functions = await listedFunctions(client);
  const operators = await listedOperators(client, new Set(functions));
  const types = (
    await client.query<{ name: string }>(
      `SELECT CASE n.nspname WHEN 'pg_catalog' THEN t.typname ELSE n.nspname || '.' || t.typname END AS name
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname IN ('pg_catalog', 'information_schema') AND t.typtype <> 'p'
          AND t.oid < ${FIRST_USER_OID}
        ORDER BY 1`,
    )
  ).rows.map((r) => r.name);
  const views = await viewCalls(client);
  return {
    text: render(major, functions, operators, types, views),
    functions,
    operators,
    types,
    views,
    major,
  };
}

async function listedFunctions(client: pg.ClientBase): Promise<string[]> {
  const procs = await client.query<ProcRow>(
    `SELECT p.proname, p.prokind, p.provolatile,
            NOT (p.prorettype::regtype::text = ANY($1)
                 OR EXISTS (SELECT 1 FROM unnest(p.proargtypes::oid[]) t WHERE t::regtype::text = ANY($1))) AS callable,
            p.oid < ${FIRST_USER_OID}
              AND NOT EXISTS (SELECT 1 FROM pg_depend d
                               WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e') AS builtin
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'pg_catalog'`,
    [NOT_CALLABLE],
  );
  const byName = new Map<string, ProcRow[]>();
  for (const row of procs.rows) byName.set(row.proname, [...(byName.get(row.proname) ?? []), row]);
  return [...byName.entries()]
    .filter(([name, rows]) => isListed(name, rows))
    .map(([name]) => name)
    .sort();
}

async function listedOperators(client: pg.ClientBase, listed: ReadonlySet<string>): Promise<string[]> {
  const operators = await client.query<{ oprname: string; proname: string; builtin: boolean }>(
    `SELECT o.oprname, p.proname, o.oid < ${FIRST_USER_OID} AS builtin FROM pg_operator o
       JOIN pg_namespace n ON n.oid = o.oprnamespace JOIN pg_proc p ON p.oid = o.oprcode
      WHERE n.nspname = 'pg_catalog'`,
  );
  const bad = new Set(
    operators.rows.filter((r) => !r.builtin || !listed.has(r.proname)).map((r) => r.oprname),
  );
  return [...new Set(operators.rows.map((r) => r.oprname))].filter((o) => !bad.has(o)).sort();
}

/** pg_catalog views whose definition calls a never-a-read function, with the first such function. */
async function viewCalls(client: pg.ClientBase): Promise<Record<string, string>> {
  await loadSqlParsers();
  const parser = pgParser();
  if (parser === undefined) throw new Error("the PostgreSQL parser did not load");
  const views = await client.query<{ relname: string; def: string }>(
    `SELECT c.relname, pg_get_viewdef(c.oid) AS def FROM pg_class c
      WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relkind IN ('v', 'm') ORDER BY 1`,
  );
  const out: Record<string, string> = {};
  for (const { relname, def } of views.rows) {
    const tree = pgTree({ root: parser.parseSync(def) });
    for (const { type, body } of tree.nodes) {
      if (type !== "FuncCall") continue;
      const last = pgNode(list(body, "funcname").at(-1));
      const name = last === undefined ? undefined : text(last.body, "sval");
      if (name !== undefined && neverAReadCategory("postgres", name) !== undefined) {
        out[relname] = name;
        break;
      }
    }
  }
  return out;
}

function isListed(name: string, rows: readonly ProcRow[]): boolean {
  if (neverAReadCategory("postgres", name) !== undefined || Object.hasOwn(EXCLUDED, name)) return false;
  return rows.every(
    (r) =>
      r.builtin &&
      r.prokind !== "p" &&
      r.callable &&
      (r.provolatile !== "v" || Object.hasOwn(VOLATILE_ALLOWED, name)),
  );
}

function render(
  major: number,
  functions: readonly string[],
  operators: readonly string[],
  types: readonly string[],
  views: Readonly<Record<string, string>>,
): string {
  const list = (items: readonly string[]): string => items.map((i) => `  ${JSON.stringify(i)},`).join("\n");
  const entries = Object.entries(views)
    .map(([view, fn]) => `  ${view}: ${JSON.stringify(fn)},`)
    .join("\n");
  return `/**
 * Generated by scripts/sql-allowlist/postgres.ts from PostgreSQL ${major}'s catalogue and the hand
 * review in postgres-allowlist-notes.ts. Do not edit by hand: change the notes and run the script
 * again.
 */

/** pg_catalog functions, aggregates and window functions that only read. */
export const PG_FUNCTIONS: readonly string[] = [
${list(functions)}
];

/** pg_catalog operators every overload of which is implemented by a listed function. */
export const PG_OPERATORS: readonly string[] = [
${list(operators)}
];

/** pg_catalog types (unqualified) and information_schema domains (qualified). */
export const PG_TYPES: readonly string[] = [
${list(types)}
];

/** pg_catalog views whose definition calls a never-a-read function, with that function. */
export const PG_VIEW_CALLS: Readonly<Record<string, string>> = {
${entries}
};
`;
}
