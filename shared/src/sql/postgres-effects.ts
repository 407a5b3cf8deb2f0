/**
 * What makes a PostgreSQL query more than a read, found anywhere in its tree: a data-modifying
 * statement nested in it (writable CTE), `SELECT … INTO`, a row-locking clause (FOR UPDATE, FOR
 * NO KEY UPDATE, FOR SHARE, FOR KEY SHARE) or a call to a function with side effects, in any
 * clause, subquery, CTE or argument list.
 */
import { isAstObject, list, num, pgNode, text, type AstObject, type PgTree } from "./ast-walk.ts";
import { checkFinding } from "./checks.ts";
import type { SqlFinding } from "./review.ts";
import { isSideEffectFunction } from "./side-effect-functions.ts";

export interface PgContext {
  /** Converts a libpg-query byte offset to a character offset; undefined stays undefined. */
  readonly position: (byteOffset: number | undefined) => number | undefined;
  readonly extraFunctions: readonly string[];
}

export interface PgEffects {
  /** Findings that each make the query something other than a read. */
  readonly notes: readonly SqlFinding[];
  /** `SELECT … INTO` creates a table: DDL. */
  readonly createsTable: boolean;
}

const DATA_MODIFYING = new Set(["InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"]);

/** Searches everything below the statement node. */
export function findPgEffects(tree: PgTree, ctx: PgContext, statementPosition: number): PgEffects {
  const notes: SqlFinding[] = [];
  // `intoClause` is a typed field, so libpg-query writes it without a `{ IntoClause: … }` wrapper;
  // it is looked for by key, on every SELECT including set-operation branches (larg/rarg).
  const createsTable = tree.objects.some((node) => isAstObject(node["intoClause"]));
  if (createsTable) {
    notes.push(
      checkFinding("select_into", "warn", "SELECT … INTO creates a table", {
        position: statementPosition,
        hint: "use CREATE TABLE … AS, or drop INTO to only read",
      }),
    );
  }
  for (const { type, body: node } of tree.nodes) {
    if (type === "FuncCall") {
      const name = functionName(node);
      if (
        name !== undefined &&
        isSideEffectFunction("postgres", name, list(node, "args").length, ctx.extraFunctions)
      ) {
        notes.push(
          checkFinding("side_effect_function", "warn", `calls ${name}(), which has side effects`, {
            position: ctx.position(num(node, "location")),
            hint: "a query that sleeps, locks, signals, touches files or changes state needs approval",
          }),
        );
      }
    } else if (type === "LockingClause") {
      notes.push(
        checkFinding("row_lock", "warn", "locks the rows it reads (FOR UPDATE/SHARE)", {
          position: statementPosition,
          hint: "drop the locking clause if you only need to read",
        }),
      );
    } else if (DATA_MODIFYING.has(type)) {
      notes.push(
        checkFinding("writable_cte", "warn", "holds a data-modifying statement (a writable CTE)", {
          position: statementPosition,
        }),
      );
    }
  }
  return { notes, createsTable };
}

/** The last part of a function's name: `pg_catalog.pg_sleep` → `pg_sleep`. */
export function functionName(funcCall: AstObject): string | undefined {
  const parts = list(funcCall, "funcname");
  const last = pgNode(parts[parts.length - 1]);
  return last?.type === "String" ? text(last.body, "sval") : undefined;
}
