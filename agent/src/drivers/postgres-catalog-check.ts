/**
 * The agent's last look before a PostgreSQL read runs (issue: a read is proven, not presumed).
 * The review proved the text calls only vetted built-ins by name; this asks the target, inside
 * the read's own transaction, what those names really resolve to there:
 *  - an unqualified function, operator or type name that also exists in a schema on the search
 *    path other than pg_catalog could resolve to that one (by argument types or by path order);
 *  - `t.f` and `(t).f` call `f(t)` when `t` has no column `f`: a function of such a name taking
 *    one row-typed argument, other than a vetted built-in, could run;
 *  - a user-defined cast into a type the statement casts to runs its own function; so does one
 *    into text, json or jsonb, which `row_to_json(t)`, `to_json(t)` and `json_agg(t)` use for a
 *    row without any cast in the text.
 *  - a user-defined implicit or assignment cast with a function in a procedural language (not
 *    C or internal, which only a superuser installs, as extensions do): PostgreSQL may call it
 *    for any expression on its types, without a cast in the text.
 * The search path here includes the implicit schemas (`pg_temp` resolves type names). Trusted
 * functions are exempt only where written with their schema: an unqualified call or `t.f` of a
 * trusted name may still resolve elsewhere.
 * Any hit refuses the read with `sql.unverified`, naming what was found. What neither this nor
 * the review can see (a view whose definition calls a volatile function, an implicit cast) is
 * left to the READ ONLY transaction and the agent's least-privilege role.
 */
import { DbwardError, displaySql, isPgBuiltin } from "@dbward/shared";
import type pg from "pg";
import type { CatalogCheck } from "./driver.ts";

/** FirstNormalObjectId: objects with lower OIDs were created by initdb, i.e. are built in. */
const FIRST_USER_OID = 16384;

const QUERY = `
WITH path AS (
  SELECT n.oid, n.nspname FROM pg_namespace n
   WHERE n.nspname = ANY (current_schemas(true)) AND n.nspname <> 'pg_catalog'
)
SELECT 'function' AS kind, path.nspname || '.' || p.proname AS name
  FROM pg_proc p JOIN path ON path.oid = p.pronamespace
 WHERE p.proname = ANY ($1::text[])
UNION ALL
SELECT 'operator', path.nspname || '.' || o.oprname
  FROM pg_operator o JOIN path ON path.oid = o.oprnamespace
 WHERE o.oprname = ANY ($2::text[])
UNION ALL
SELECT 'type', path.nspname || '.' || t.typname
  FROM pg_type t JOIN path ON path.oid = t.typnamespace
 WHERE t.typname = ANY ($3::text[])
UNION ALL
SELECT 'field', n.nspname || '.' || p.proname
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  JOIN pg_type a ON a.oid = p.proargtypes[0]
 WHERE p.proname = ANY ($4::text[]) AND p.pronargs >= 1 AND p.pronargs - p.pronargdefaults <= 1
   AND a.typtype IN ('c', 'p', 'd')
   AND n.nspname = ANY (current_schemas(true))
   AND NOT (n.nspname = 'pg_catalog' AND p.proname = ANY ($5::text[]))
UNION ALL
SELECT 'cast', format_type(c.castsource, NULL) || ' to ' || format_type(c.casttarget, NULL)
  FROM pg_cast c
 WHERE c.oid >= ${FIRST_USER_OID} AND c.castfunc <> 0
   AND c.casttarget = ANY (SELECT to_regtype(t) FROM unnest($6::text[]) AS t WHERE to_regtype(t) IS NOT NULL)
UNION ALL
SELECT 'implicit_cast', format_type(c.castsource, NULL) || ' to ' || format_type(c.casttarget, NULL)
  FROM pg_cast c JOIN pg_proc f ON f.oid = c.castfunc JOIN pg_language l ON l.oid = f.prolang
 WHERE c.oid >= ${FIRST_USER_OID} AND c.castcontext IN ('i', 'a') AND l.lanname NOT IN ('c', 'internal')
 LIMIT 20`;

const WHAT: Readonly<Record<string, string>> = {
  function: "a function of a called name outside pg_catalog, which the call may resolve to",
  operator: "an operator of a used name outside pg_catalog, which the expression may resolve to",
  type: "a type of a used name outside pg_catalog",
  field: "a function that `t.f` or `(t).f` would call for a row",
  cast: "a user-defined cast, which runs its own function",
  implicit_cast:
    "a user-defined implicit cast whose function any expression may call without naming it (operators and functions on its types)",
};

/** Throws `sql.unverified` when a name of the read resolves to something not vetted. */
export async function checkPgCatalog(client: pg.ClientBase, check: CatalogCheck): Promise<void> {
  const { functions, operators, types, fields } = check.references;
  const unqualified = (names: readonly string[]): string[] => names.filter((n) => !n.includes("."));
  const lastParts = (names: readonly string[]): string[] => names.map((n) => n.slice(n.lastIndexOf(".") + 1));
  if (functions.length + operators.length + types.length + fields.length === 0) return;
  const result = await client.query<{ kind: string; name: string }>(QUERY, [
    unqualified(functions),
    unqualified(operators),
    lastParts(unqualified(types)),
    [...fields],
    fields.filter((f) => isPgBuiltin("function", [f])),
    [...types, "text", "json", "jsonb"],
  ]);
  if (result.rows.length === 0) return;
  // Names come from the target's catalogue, which anyone with CREATE may fill: shown escaped.
  const found = result.rows.map((r) => `${displaySql(r.name)} (${WHAT[r.kind] ?? r.kind})`);
  throw new DbwardError(
    "sql.unverified",
    `the agent did not run this read: on this database ${found.join("; ")}; a read may call only vetted built-ins or functions this agent trusts`,
    { found: result.rows },
  );
}
