/**
 * What makes a PostgreSQL query more than a read, found anywhere in its tree: a data-modifying
 * statement nested in it (writable CTE), `SELECT … INTO`, a row-locking clause (FOR UPDATE, FOR
 * NO KEY UPDATE, FOR SHARE, FOR KEY SHARE), or anything the allowlist check cannot prove
 * (`postgres-calls.ts`), in any clause, subquery, CTE or argument list.
 */
import { isAstObject, type PgTree } from "./ast-walk.ts";
import { checkFinding } from "./checks.ts";
import { checkPgCalls, type PgCallContext } from "./postgres-calls.ts";
import type { CatalogReferences, SqlFinding } from "./review.ts";

export type PgContext = PgCallContext;

export interface PgEffects {
  /** Findings about the query: each one makes it something other than a read, except `trusted_function`. */
  readonly notes: readonly SqlFinding[];
  /** Whether the query is something other than a read (beyond creating a table). */
  readonly notARead: boolean;
  /** `SELECT … INTO` creates a table: DDL. */
  readonly createsTable: boolean;
  /** Calls the allowlist could not prove, as written. */
  readonly unverified: readonly string[];
  /** Whether only calls made it not a read: a plain EXPLAIN still evaluates them at plan time. */
  readonly callsOnly: boolean;
  readonly references: CatalogReferences;
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
  const structural = notes.length;
  for (const { type } of tree.nodes) {
    if (type === "LockingClause") {
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
  const others = notes.length - structural;
  const calls = checkPgCalls(tree, ctx);
  return {
    notes: [...notes, ...calls.notes],
    notARead: others > 0 || calls.notARead,
    createsTable,
    unverified: calls.unverified,
    callsOnly: others === 0 && calls.notARead,
    references: calls.references,
  };
}
