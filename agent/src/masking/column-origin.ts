/**
 * Where a result column comes from, as the database proves it: a column of a base table (by the
 * table's schema, name and the column's name), or nothing provable — an expression, a function's
 * result, a view's column, a column MySQL reports from a CTE or derived table (whose reported
 * name a query can choose), a partition or inheritance child (whose rows a parent's mask covers).
 */
export type ColumnOrigin =
  | { readonly kind: "column"; readonly schema: string; readonly table: string; readonly column: string }
  | { readonly kind: "unproven" };

export const UNPROVEN: ColumnOrigin = Object.freeze({ kind: "unproven" });
