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
import { DbwardError } from "@dbward/shared";
import type pg from "pg";
// Not exported by shared's index; the review's own parser (loaded by initSqlReview) and walk.
import { pgTree, text, type AstObject } from "../../../shared/src/sql/ast-walk.ts";
import { pgParser } from "../../../shared/src/sql/sql-parsers.ts";

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
  return { named, targets, cteNames };
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
SELECT c.oid::regclass::text AS shown, c.relkind,
  ARRAY(SELECT t.tgname::text FROM pg_trigger t
         WHERE t.tgrelid = c.oid AND NOT t.tgisinternal ORDER BY 1) AS triggers,
  ARRAY(SELECT r.rulename::text FROM pg_rewrite r
         WHERE r.ev_class = c.oid AND r.rulename <> '_RETURN' ORDER BY 1) AS rules,
  ARRAY(SELECT DISTINCT CASE WHEN d.refclassid = 'pg_proc'::regclass
                             THEN d.refobjid::regprocedure::text
                             ELSE 'operator ' || d.refobjid::regoperator::text END
          FROM pg_depend d
         WHERE d.refclassid IN ('pg_proc'::regclass, 'pg_operator'::regclass)
           AND d.refobjid >= ${FIRST_USER_OID}
           AND ((d.classid = 'pg_attrdef'::regclass
                 AND d.objid IN (SELECT a.oid FROM pg_attrdef a WHERE a.adrelid = c.oid))
             OR (d.classid = 'pg_constraint'::regclass
                 AND d.objid IN (SELECT k.oid FROM pg_constraint k
                                  WHERE k.conrelid = c.oid
                                     OR k.contypid IN (SELECT a.atttypid FROM pg_attribute a
                                                        WHERE a.attrelid = c.oid AND a.attnum > 0
                                                          AND NOT a.attisdropped)))
             OR (d.classid = 'pg_class'::regclass
                 AND (d.objid = c.oid
                      OR d.objid IN (SELECT x.indexrelid FROM pg_index x WHERE x.indrelid = c.oid)))
             OR (d.classid = 'pg_policy'::regclass
                 AND d.objid IN (SELECT p.oid FROM pg_policy p WHERE p.polrelid = c.oid)))
         ORDER BY 1) AS functions
  FROM reach JOIN pg_class c ON c.oid = reach.oid
 ORDER BY 1`;

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
}

interface ReachedTable {
  shown: string;
  relkind: string;
  triggers: string[];
  rules: string[];
  functions: string[];
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
    ...(table.functions.length > 0 ? [`non-built-in ${table.functions.join(", ")}`] : []),
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
