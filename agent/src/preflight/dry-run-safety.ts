/**
 * What must hold before a PostgreSQL dry run runs its statement, checked in the dry run's own
 * transaction, just before the statement. A dry run executes a write nobody has approved yet and
 * rolls it back; ROLLBACK undoes rows, not what code the write sets off did outside the
 * transaction. The review proves the statement's own calls; this proves the tables call nothing:
 *  - every relation the statement names resolves (same session, same search_path) to an
 *    ordinary table: a view may have INSTEAD OF triggers or rules and calls what its definition
 *    calls, a foreign table writes to another server, a partitioned table routes into partitions
 *    that may be any of these;
 *  - neither those tables nor any table the write can reach from them (foreign keys whose ON
 *    DELETE/ON UPDATE is CASCADE, SET NULL or SET DEFAULT, followed transitively, and
 *    inheritance children, which an UPDATE or DELETE without ONLY also changes) is anything but
 *    an ordinary table, has a user trigger (one can call dblink, signal backends, NOTIFY …), a
 *    rule, or a column default, generated column, check constraint, column domain's check,
 *    index expression or row-level security policy that uses a function or operator not built
 *    into PostgreSQL (OID ≥ FirstNormalObjectId: user-defined or from an extension).
 * The tables the statement writes are locked first, in ROW EXCLUSIVE mode (the lock the
 * statement itself takes, so no extra privilege and no extra blocking), within the dry run's
 * lock_timeout: from then until ROLLBACK no one can add a trigger or rule to them or a foreign
 * key to or from them (those take SHARE ROW EXCLUSIVE or more). A trigger added to a cascade
 * child in the moment between this check and the statement is not excluded; adding one takes
 * that table's owner. Refusals: `sql.rejected` (not an ordinary table, or no such table),
 * `sql.unverified` (what the table would call).
 */
import { DbwardError, isPgBuiltin } from "@dbward/shared";
import type pg from "pg";
// Not exported by shared's index; the review's own parser (loaded by initSqlReview) and walk.
import { pgTree, text, type AstObject } from "../../../shared/src/sql/ast-walk.ts";
import { checkPgCalls } from "../../../shared/src/sql/postgres-calls.ts";
import { pgParser } from "../../../shared/src/sql/sql-parsers.ts";
import type { CatalogCheck } from "../drivers/driver.ts";
import { checkPgCatalog } from "../drivers/postgres-catalog-check.ts";

/** FirstNormalObjectId: objects with lower OIDs were created by initdb, i.e. are built in. */
const FIRST_USER_OID = 16384;

/** A relation as the statement names it, identifiers as the parser folded them. */
export interface RelationName {
  readonly catalog?: string;
  readonly schema?: string;
  readonly name: string;
  /** `ONLY t`: the statement leaves inheritance children alone. */
  readonly only: boolean;
}

export interface DryRunRelations {
  /** Every relation named anywhere in the statement (FROM, USING, subqueries, the target). */
  readonly named: readonly RelationName[];
  /** The relations an INSERT, UPDATE or DELETE in it writes. */
  readonly targets: readonly RelationName[];
  /** Names of the statement's CTEs: an unqualified name among them may be no table at all. */
  readonly cteNames: ReadonlySet<string>;
  /**
   * The function, operator, type and field names the statement resolves at run time, for the
   * same catalogue check a read gets (drivers/postgres-catalog-check.ts): `t.f` may call
   * `f(t)`, and `=` may resolve to a user's operator in a schema on the search path.
   */
  readonly references: CatalogCheck["references"];
}

const WRITE_NODES = new Set(["InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"]);

/** The relations `sql` names, from PostgreSQL's own parse tree; throws `sql.rejected` if unread. */
export function dryRunRelations(sql: string): DryRunRelations {
  const parser = pgParser();
  if (parser === undefined) throw rejected("the PostgreSQL parser is not loaded");
  let parsed: unknown;
  try {
    parsed = parser.parseSync(sql);
  } catch (err) {
    throw rejected(`the statement could not be parsed: ${err instanceof Error ? err.message : String(err)}`);
  }
  const tree = pgTree({ root: parsed as AstObject });
  const named: RelationName[] = [];
  const targets: RelationName[] = [];
  const cteNames = new Set<string>();
  // A RangeVar is wrapped in FROM (`{ RangeVar: … }`) and bare as a statement's `relation`:
  // only a RangeVar has `relname`, so found by its shape, wherever it sits.
  for (const object of tree.objects) {
    const relation = relationName(object);
    if (relation !== undefined) named.push(relation);
  }
  for (const node of tree.nodes) {
    if (node.type === "CommonTableExpr") {
      const name = text(node.body, "ctename");
      if (name !== undefined) cteNames.add(name);
    } else if (WRITE_NODES.has(node.type)) {
      const relation = relationName(node.body["relation"]);
      if (relation === undefined) throw rejected(`a ${node.type} without a table it writes`);
      targets.push(relation);
    }
  }
  if (targets.length === 0) throw rejected("the statement writes no table");
  const { references } = checkPgCalls(tree, {
    position: () => undefined,
    extraFunctions: [],
    trustedFunctions: [],
  });
  return { named, targets, cteNames, references };
}

function relationName(value: unknown): RelationName | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const object = value as AstObject;
  const name = text(object, "relname");
  if (name === undefined) return undefined;
  const catalog = text(object, "catalogname");
  const schema = text(object, "schemaname");
  return {
    ...(catalog === undefined ? {} : { catalog }),
    ...(schema === undefined ? {} : { schema }),
    name,
    only: object["inh"] !== true,
  };
}

const RESOLVE = `
SELECT r.oid::oid AS oid, c.relkind
  FROM unnest($1::text[]) WITH ORDINALITY AS n(name, i)
  LEFT JOIN LATERAL (SELECT to_regclass(n.name) AS oid) r ON true
  LEFT JOIN pg_class c ON c.oid = r.oid
 ORDER BY n.i`;

/** The tables reachable from $1 and what each would call. */
const REACH = `
WITH RECURSIVE edge(parent, child) AS (
  SELECT con.confrelid, con.conrelid FROM pg_constraint con
   WHERE con.contype = 'f'
     AND (con.confdeltype IN ('c', 'n', 'd') OR con.confupdtype IN ('c', 'n', 'd'))
  UNION ALL
  SELECT i.inhparent, i.inhrelid FROM pg_inherits i
), reach(oid) AS (
  SELECT unnest($1::oid[])
  UNION
  SELECT edge.child FROM edge JOIN reach ON edge.parent = reach.oid
)
SELECT c.oid::oid AS oid, c.oid::regclass::text AS shown, c.relkind,
  -- A trigger function that is not built in, internal or not: before PostgreSQL 13 a row trigger
  -- cloned onto a partition is marked internal. Foreign keys' own triggers call built-ins.
  ARRAY(SELECT t.tgname::text FROM pg_trigger t
         WHERE t.tgrelid = c.oid AND (NOT t.tgisinternal OR t.tgfoid >= 16384) ORDER BY 1) AS triggers,
  ARRAY(SELECT r.rulename::text FROM pg_rewrite r
         WHERE r.ev_class = c.oid AND r.rulename <> '_RETURN' ORDER BY 1) AS rules
  FROM reach JOIN pg_class c ON c.oid = reach.oid
 ORDER BY 2`;

/**
 * Every type a column of the tables $1 holds, followed through domains (their base type),
 * arrays (their element), composites (their attributes) and ranges (their subtype): a value of
 * any of them is read, written, cast or checked by the write. `user_code`: its input/output
 * (or range) functions are not built in. `casts`: casts with a function that is not built in
 * into it (an assignment runs one without a cast in the text), or out of it when the type is
 * not built in. A cast out of a built-in type into a type no column has is reached only by
 * naming that type, which the review and the catalogue check refuse.
 */
const TYPES = `
WITH RECURSIVE walk(typ) AS (
  SELECT a.atttypid FROM pg_attribute a
   WHERE a.attrelid = ANY ($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
  UNION
  SELECT x.next FROM walk JOIN pg_type t ON t.oid = walk.typ
   CROSS JOIN LATERAL (
     SELECT t.typbasetype WHERE t.typbasetype <> 0
     UNION ALL SELECT t.typelem WHERE t.typelem <> 0
     UNION ALL SELECT a.atttypid FROM pg_attribute a
                WHERE t.typrelid <> 0 AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
     UNION ALL SELECT r.rngsubtype FROM pg_range r WHERE r.rngtypid = t.oid
     UNION ALL SELECT r.rngtypid FROM pg_range r WHERE r.rngmultitypid = t.oid
   ) AS x(next)
)
SELECT t.oid::oid AS oid, format_type(t.oid, NULL) AS shown,
  (SELECT min(f)::oid FROM unnest(ARRAY[t.typinput, t.typoutput, t.typreceive, t.typsend,
          t.typmodin, t.typmodout, t.typanalyze, t.typsubscript]::oid[]) AS f
    WHERE f >= ${FIRST_USER_OID}) IS NOT NULL
  OR EXISTS (SELECT 1 FROM pg_range r WHERE r.rngtypid = t.oid
              AND (r.rngcanonical::oid >= ${FIRST_USER_OID} OR r.rngsubdiff::oid >= ${FIRST_USER_OID}
                   OR r.rngsubopc >= ${FIRST_USER_OID})) AS user_code,
  ARRAY(SELECT format_type(k.castsource, NULL) || ' to ' || format_type(k.casttarget, NULL)
          FROM pg_cast k
         WHERE k.castfunc >= ${FIRST_USER_OID}
           AND (k.casttarget = t.oid OR (k.castsource = t.oid AND t.oid >= ${FIRST_USER_OID}))
         ORDER BY 1) AS casts
  FROM walk JOIN pg_type t ON t.oid = walk.typ
 ORDER BY 2`;

/**
 * Every function and operator the tables $1 or the types $2 would call on their own: column
 * defaults and generated columns, check, exclusion and foreign-key constraints (the table's and
 * its types' domains'), index expressions and predicates, row-level security policies. Also the
 * relations a policy reads (a view there calls what its definition calls), and indexes whose
 * access method or operator classes are not built in (their support functions run on every
 * insert and update), and tables whose access method is not.
 */
const CALLS = `
WITH obj(classid, objid) AS (
  SELECT 'pg_attrdef'::regclass, a.oid FROM pg_attrdef a WHERE a.adrelid = ANY ($1::oid[])
  UNION ALL
  SELECT 'pg_constraint'::regclass, k.oid FROM pg_constraint k
   WHERE k.conrelid = ANY ($1::oid[]) OR k.contypid = ANY ($2::oid[])
  UNION ALL
  SELECT 'pg_class'::regclass, c FROM unnest($1::oid[]) AS c
  UNION ALL
  SELECT 'pg_class'::regclass, x.indexrelid FROM pg_index x WHERE x.indrelid = ANY ($1::oid[])
  UNION ALL
  SELECT 'pg_policy'::regclass, p.oid FROM pg_policy p WHERE p.polrelid = ANY ($1::oid[])
),
-- Dependencies on built-in (pinned) objects are not recorded in pg_depend: the expressions
-- themselves are read for every function they call (an operator's by its oprcode).
expr(e) AS (
  SELECT a.adbin::text FROM pg_attrdef a WHERE a.adrelid = ANY ($1::oid[])
  UNION ALL
  SELECT k.conbin::text FROM pg_constraint k
   WHERE (k.conrelid = ANY ($1::oid[]) OR k.contypid = ANY ($2::oid[])) AND k.conbin IS NOT NULL
  UNION ALL
  SELECT e FROM pg_index x, LATERAL (VALUES (x.indexprs::text), (x.indpred::text)) AS v(e)
   WHERE x.indrelid = ANY ($1::oid[]) AND e IS NOT NULL
  UNION ALL
  SELECT e FROM pg_policy p, LATERAL (VALUES (p.polqual::text), (p.polwithcheck::text)) AS v(e)
   WHERE p.polrelid = ANY ($1::oid[]) AND e IS NOT NULL
), called(oid) AS (
  SELECT m[2]::oid FROM expr, regexp_matches(expr.e, ':(funcid|opfuncid|hashfuncid|negfuncid) ([0-9]+)', 'g') AS m
  UNION
  SELECT o.oprcode::oid FROM expr, regexp_matches(expr.e, ':opno ([0-9]+)', 'g') AS m
    JOIN pg_operator o ON o.oid = m[1]::oid
  UNION
  SELECT d.refobjid FROM obj JOIN pg_depend d ON d.classid = obj.classid AND d.objid = obj.objid
   WHERE d.refclassid = 'pg_proc'::regclass
)
SELECT DISTINCT 'function' AS kind, p.oid::oid AS oid, p.proname::text AS name,
       p.oid::regprocedure::text AS shown
  FROM called JOIN pg_proc p ON p.oid = called.oid
UNION ALL
-- Forms whose operators the reading above does not find (a row comparison's :opnos list).
SELECT DISTINCT 'unread', 0, '', 'an expression with a row comparison'
  FROM expr WHERE expr.e LIKE '%:opnos%'
UNION ALL
SELECT DISTINCT 'operator', d.refobjid, o.oprname::text, 'operator ' || d.refobjid::regoperator::text
  FROM obj JOIN pg_depend d ON d.classid = obj.classid AND d.objid = obj.objid
  JOIN pg_operator o ON o.oid = d.refobjid
 WHERE d.refclassid = 'pg_operator'::regclass AND d.refobjid >= ${FIRST_USER_OID}
UNION ALL
SELECT DISTINCT 'policy_relation', d.refobjid, '', 'a policy on ' || p.polrelid::regclass::text
       || ' reading ' || d.refobjid::regclass::text
  FROM pg_policy p JOIN pg_depend d ON d.classid = 'pg_policy'::regclass AND d.objid = p.oid
 WHERE p.polrelid = ANY ($1::oid[]) AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> p.polrelid
UNION ALL
SELECT DISTINCT 'index', x.indexrelid, '', 'index ' || x.indexrelid::regclass::text
  FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
 WHERE x.indrelid = ANY ($1::oid[])
   AND (i.relam >= ${FIRST_USER_OID}
        OR EXISTS (SELECT 1 FROM unnest(x.indclass::oid[]) AS oc WHERE oc >= ${FIRST_USER_OID})
        OR EXISTS (SELECT 1 FROM pg_opclass oc
                     JOIN pg_amproc ap ON ap.amprocfamily = oc.opcfamily
                    WHERE oc.oid = ANY (x.indclass::oid[]) AND ap.amproc::oid >= ${FIRST_USER_OID})
        OR EXISTS (SELECT 1 FROM pg_opclass oc
                     JOIN pg_amop ao ON ao.amopfamily = oc.opcfamily
                    WHERE oc.oid = ANY (x.indclass::oid[]) AND ao.amopopr >= ${FIRST_USER_OID}))
UNION ALL
SELECT 'table_access_method', c.oid, '', 'table ' || c.oid::regclass::text
  FROM pg_class c WHERE c.oid = ANY ($1::oid[]) AND c.relam >= ${FIRST_USER_OID}
 ORDER BY 4`;

/**
 * Built-in functions a table may call on its own that ROLLBACK does not undo, and are accepted
 * anyway: `nextval` (serial and identity columns; the values drawn stay drawn, documented in
 * dry-run-postgres.ts). Every other built-in must be on the review's allowlist of
 * side-effect-free built-ins: `setval`, `pg_terminate_backend` and the like in a default or a
 * check would run before anyone approved.
 */
const ACCEPTED_EFFECTS = new Set(["nextval"]);

const RELKIND_TEXT: Readonly<Record<string, string>> = {
  v: "a view",
  m: "a materialized view",
  f: "a foreign table",
  p: "a partitioned table",
  S: "a sequence",
  i: "an index",
  I: "a partitioned index",
  c: "a composite type",
  t: "a TOAST table",
};

/**
 * Locks the tables the statement writes and throws unless every table it names or can reach is
 * an ordinary table that would call nothing (see the header). Run on the dry run's client,
 * inside its transaction, right before the statement.
 */
export async function assertDryRunSafe(client: pg.PoolClient, relations: DryRunRelations): Promise<void> {
  const all = [...relations.targets, ...relations.named];
  const { rows } = await client.query<{ oid: number | null; relkind: string | null }>(RESOLVE, [
    all.map((r) => qualifiedName(r)),
  ]);
  const oids = new Set<number>();
  const targetOids: { oid: number; only: boolean }[] = [];
  rows.forEach((row, index) => {
    const relation = all[index];
    if (relation === undefined) return;
    const written = displayName(relation);
    if (row.oid === null) {
      // An unqualified name that is one of the statement's CTEs names no table: nothing to check.
      if (relation.schema === undefined && relations.cteNames.has(relation.name)) return;
      throw rejected(
        `no dry run: ${written} is not a table in this database (as the dry run's session resolves it)`,
      );
    }
    if (row.relkind !== "r")
      throw rejected(
        `no dry run: ${written} is ${RELKIND_TEXT[row.relkind ?? ""] ?? `a relation of kind ${row.relkind ?? "?"}`}, not an ordinary table; a dry run runs only on tables it can prove call nothing`,
      );
    oids.add(row.oid);
    if (index < relations.targets.length) targetOids.push({ oid: row.oid, only: relation.only });
  });
  for (const target of targetOids) {
    // regclass output is the name quoted and schema-qualified as this session needs it.
    const { rows: lock } = await client.query<{ sql: string }>(
      "SELECT format('LOCK TABLE ONLY %s IN ROW EXCLUSIVE MODE', $1::oid::regclass) AS sql",
      [target.oid],
    );
    const statement = lock[0]?.sql;
    if (statement === undefined) throw rejected("no dry run: a table it writes could not be locked");
    await client.query(statement);
  }
  const { rows: reached } = await client.query<ReachedTable>(REACH, [[...oids]]);
  for (const table of reached) {
    const problem = tableProblem(table);
    if (problem !== undefined) throw problem;
  }
  const tables = reached.map((t) => t.oid);
  const { rows: types } = await client.query<ReachedType>(TYPES, [tables]);
  const typeProblems = types.flatMap((t) => [
    ...(t.user_code ? [`type ${t.shown}, whose input, output or range functions are not built in`] : []),
    ...t.casts.map((c) => `a cast from ${c} with a function that is not built in`),
  ]);
  if (typeProblems.length > 0) throw unverified(typeProblems);
  const { rows: calls } = await client.query<ReachedCall>(CALLS, [tables, types.map((t) => t.oid)]);
  const callProblems = calls.filter((c) => !acceptedCall(c)).map((c) => callText(c));
  if (callProblems.length > 0) throw unverified(callProblems);
  // What the statement's own names resolve to here, as a read is checked before it runs.
  try {
    await checkPgCatalog(client, { references: relations.references, trustedFunctions: [] });
  } catch (err) {
    if (!(err instanceof DbwardError)) throw err;
    throw new DbwardError(
      err.code,
      `no dry run: ${err.message.replace(/^the agent did not run this read: /, "")}. The approvers decide without a row count`,
    );
  }
}

interface ReachedTable {
  oid: number;
  shown: string;
  relkind: string;
  triggers: string[];
  rules: string[];
}

interface ReachedType {
  oid: number;
  shown: string;
  user_code: boolean;
  casts: string[];
}

interface ReachedCall {
  kind: "function" | "operator" | "policy_relation" | "index" | "table_access_method" | "unread";
  oid: number;
  name: string;
  shown: string;
}

/** A built-in function on the review's allowlist (or nextval); nothing else a table calls. */
function acceptedCall(call: ReachedCall): boolean {
  if (call.kind !== "function") return false;
  if (call.oid >= FIRST_USER_OID) return false;
  return ACCEPTED_EFFECTS.has(call.name) || isPgBuiltin("function", ["pg_catalog", call.name]);
}

function callText(call: ReachedCall): string {
  switch (call.kind) {
    case "function":
      return call.oid >= FIRST_USER_OID
        ? `non-built-in ${call.shown}`
        : `built-in ${call.shown}, which is not known to be free of side effects`;
    case "operator":
      return `non-built-in ${call.shown}`;
    case "policy_relation":
      return `${call.shown} (what a relation a policy reads calls is not checked)`;
    case "index":
      return `${call.shown}, whose access method or operator classes are not built in`;
    case "table_access_method":
      return `${call.shown}, whose access method is not built in`;
    case "unread":
      return `${call.shown}, whose operators this check does not read`;
  }
}

function unverified(found: readonly string[]): DbwardError {
  return new DbwardError(
    "sql.unverified",
    `no dry run: the tables the write names or reaches (by a cascading foreign key or inheritance) would call ${found.join("; ")}, and ROLLBACK cannot undo what such code does outside the transaction. The approvers decide without a row count`,
  );
}

function tableProblem(table: ReachedTable): DbwardError | undefined {
  const where = `table ${table.shown} (named by the statement, or reached from it by a cascading foreign key or inheritance)`;
  if (table.relkind !== "r")
    return rejected(
      `no dry run: ${where} is ${RELKIND_TEXT[table.relkind] ?? `of kind ${table.relkind}`}, not an ordinary table`,
    );
  const found = [
    ...(table.triggers.length > 0 ? [`trigger ${table.triggers.join(", ")}`] : []),
    ...(table.rules.length > 0 ? [`rule ${table.rules.join(", ")}`] : []),
  ];
  if (found.length === 0) return undefined;
  return new DbwardError(
    "sql.unverified",
    `no dry run: ${where} has ${found.join("; ")}, which the write would set off and ROLLBACK cannot undo what it does outside the transaction. The approvers decide without a row count`,
  );
}

/** The name as to_regclass reads it, each part quoted. */
function qualifiedName(r: RelationName): string {
  return [r.catalog, r.schema, r.name]
    .filter((part): part is string => part !== undefined)
    .map(quoteIdent)
    .join(".");
}

/** Always quoted: to_regclass then takes each part exactly as the parser folded it. */
function quoteIdent(part: string): string {
  return `"${part.replaceAll('"', '""')}"`;
}

function displayName(r: RelationName): string {
  return [r.catalog, r.schema, r.name].filter((p) => p !== undefined).join(".");
}

function rejected(message: string): DbwardError {
  return new DbwardError("sql.rejected", message);
}
