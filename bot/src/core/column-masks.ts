/**
 * Which column masks a statement's token carries (shared mask-claim.ts). Pure.
 *
 * A policy applies to a database × environment (a named one or `*`); the requester escapes it
 * when one of their roles or groups is in its `clear_for`. The masks are signed only when the
 * statement may read a masked column: it reads a masked table by name, a table with a column
 * named like a masked one (a partition or inheritance child holds its parent's rows), a relation
 * the schema context does not show as a table (a view over one, a table too new for the report),
 * or its relations cannot be told (unparseable); without a schema context, whenever it reads
 * anything.
 * The agent masks every column whose origin it cannot prove whenever masks are signed, so a
 * count over an unmasked table stays readable while `lower(email)` does not.
 */
import { findMaskedColumnUse, type SchemaTable, type SignedMask, type SqlDialect } from "@dbward/shared";
import type { MaskingPolicyConfig } from "../config/masking-config.ts";

const lower = (s: string): string => s.toLowerCase();

/** The policies of one database × environment, whoever asks. */
export function policiesFor(
  policies: readonly MaskingPolicyConfig[],
  database: string,
  environment: string,
): MaskingPolicyConfig[] {
  return policies.filter(
    (p) =>
      (p.database === "*" || p.database === database) &&
      (p.environment === "*" || p.environment === environment),
  );
}

/** The policies that mask for this requester (none of their roles or groups sees clear values). */
export function policiesMaskingFor(
  policies: readonly MaskingPolicyConfig[],
  requester: { readonly roles: readonly string[]; readonly groups: readonly string[] },
): MaskingPolicyConfig[] {
  return policies.filter(
    (p) =>
      !p.clear_for.roles.some((r) => requester.roles.includes(r)) &&
      !p.clear_for.groups.some((g) => requester.groups.includes(g)),
  );
}

/** The signed form of a policy's mask (kept characters only for `partial`). */
export function signedMaskOf(p: MaskingPolicyConfig): SignedMask {
  const partial = p.mode === "partial";
  return {
    schema: p.schema ?? null,
    table: p.table,
    column: p.column,
    mode: p.mode,
    keep_leading: partial ? (p.keep_leading ?? 0) : 0,
    keep_trailing: partial ? (p.keep_trailing ?? 0) : 0,
  };
}

/**
 * The masks to sign into a token for `sql` by this requester, or undefined when none apply (an
 * empty claim is never signed).
 */
export function masksToSign(input: {
  readonly policies: readonly MaskingPolicyConfig[];
  readonly database: string;
  readonly environment: string;
  readonly dialect: SqlDialect;
  readonly sql: string;
  readonly requester: { readonly roles: readonly string[]; readonly groups: readonly string[] };
  /** The schema context's tables; undefined when no agent reported one. */
  readonly schema: readonly SchemaTable[] | undefined;
}): SignedMask[] | undefined {
  const applying = policiesMaskingFor(
    policiesFor(input.policies, input.database, input.environment),
    input.requester,
  );
  if (applying.length === 0) return undefined;
  if (!mayReadMasked(input.sql, input.dialect, applying, input.schema)) return undefined;
  // A proven origin is always a column of a table the statement names (a view's column names the
  // view, a function's result nothing), so the masks of the tables it reads are enough; when it
  // reads none of them (a view, a partition) or cannot be parsed, all are signed, and the agent
  // masks every column it cannot trace in full either way. This keeps tokens small.
  const reads = findMaskedColumnUse(input.sql, input.dialect, []);
  const named = reads.determinable ? applying.filter((p) => reads.reads.includes(lower(p.table))) : [];
  const signed = named.length > 0 ? named : applying;
  // One mask per column: of two policies on one column, the most specific (a named environment
  // over `*`, then a named database over `*`) is signed.
  const seen = new Set<string>();
  const masks: SignedMask[] = [];
  for (const p of [...signed].sort((a, b) => rank(b) - rank(a))) {
    const k = JSON.stringify([lower(p.schema ?? ""), lower(p.table), lower(p.column)]);
    if (seen.has(k)) continue;
    seen.add(k);
    masks.push(signedMaskOf(p));
  }
  return masks;
}

function mayReadMasked(
  sql: string,
  dialect: SqlDialect,
  policies: readonly MaskingPolicyConfig[],
  schema: readonly SchemaTable[] | undefined,
): boolean {
  const found = findMaskedColumnUse(sql, dialect, []);
  if (!found.determinable) return true;
  if (schema === undefined) return found.reads.length > 0;
  const masked = new Set(policies.map((p) => lower(p.table)));
  const maskedColumns = new Set(policies.map((p) => lower(p.column)));
  // A known table with a column named like a masked one may hold the masked table's rows (a
  // PostgreSQL partition or inheritance child is reported as a table of its own): sign the masks,
  // and the agent masks the columns it cannot trace to an unmasked table.
  const lookalike = new Set(
    schema
      .filter((t) => (t.columns ?? []).some((c) => maskedColumns.has(lower(c.name))))
      .map((t) => lower(t.name)),
  );
  if (found.reads.some((r) => masked.has(r) || lookalike.has(r))) return true;
  // Any other relation must be a reported table by its exact name (and schema, when qualified):
  // `other.orders`, or a quoted `"Orders"`, is another relation than the reported `public.orders`
  // — perhaps a view over a masked table — and compared case-insensitively it would pass as it.
  return found.relations.some((r) => !schema.some((t) => isExactly(t, r)));
}

function isExactly(
  table: SchemaTable,
  r: { readonly schema: string | null; readonly name: string },
): boolean {
  return table.name === r.name && (r.schema === null || table.schema === r.schema);
}

function rank(p: MaskingPolicyConfig): number {
  return (p.environment === "*" ? 0 : 2) + (p.database === "*" ? 0 : 1);
}
