/**
 * The masks of one job, from its token's signed `masks` claim, and how they apply to its result
 * columns. Applied by each column's origin, never by its name (an alias renames nothing here):
 * a column of a masked table column gets that mask; a column of any other base table column is
 * shown as it is; a column with no provable origin is masked in full, because the bot signs
 * masks only for a statement that may read a masked column, and such a column may be one
 * (`lower(email)`, a view's column, `SELECT u FROM users u`).
 */
import type { SignedMask } from "@dbward/shared";
import type { Secret } from "../secret.ts";
import type { ColumnOrigin } from "./column-origin.ts";
import { cellMask, type CellMask } from "./mask-value.ts";

/** What a driver gets in `ExecuteOptions.masking`. */
export interface ResultMasking {
  readonly masks: readonly SignedMask[];
  readonly key: Secret | undefined;
}

/** Masks a whole row; the identity when no column of the result is masked. */
export type RowMasker = (row: unknown[]) => unknown[];

const lower = (s: string): string => s.toLowerCase();

/** The mask a column of proven origin gets, if any (names compare case-insensitively). */
export function maskFor(
  masks: readonly SignedMask[],
  origin: Extract<ColumnOrigin, { kind: "column" }>,
): SignedMask | undefined {
  return masks.find(
    (m) =>
      (m.schema === null || lower(m.schema) === lower(origin.schema)) &&
      lower(m.table) === lower(origin.table) &&
      lower(m.column) === lower(origin.column),
  );
}

/** The row masker for a result whose columns have these origins. */
export function rowMasker(masking: ResultMasking, origins: readonly ColumnOrigin[]): RowMasker {
  const full = cellMask({ mode: "full", keep_leading: 0, keep_trailing: 0 }, undefined);
  const perColumn: (CellMask | undefined)[] = origins.map((o) => {
    if (o.kind === "unproven") return full;
    const mask = maskFor(masking.masks, o);
    return mask === undefined ? undefined : cellMask(mask, masking.key);
  });
  if (perColumn.every((m) => m === undefined)) return (row) => row;
  // A cell beyond the described columns cannot be placed: masked in full (fail closed).
  return (row) =>
    row.map((v, i) => {
      const mask = i < perColumn.length ? perColumn[i] : full;
      return mask === undefined ? v : mask(v);
    });
}
