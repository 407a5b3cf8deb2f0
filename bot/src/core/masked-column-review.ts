/**
 * The review finding for the known bypass of column masking: a statement that filters, joins,
 * groups, orders by a masked column or computes over it tells its reader about the values
 * without showing one (`WHERE email LIKE 'a%'` answers a question about every email). Such a
 * statement is never auto-approved, and the approver reads which column and why. Pure.
 *
 * Every masking policy of the database × environment counts, whoever asks: a request is planned
 * before anyone knows who will read its result. A relation the schema context does not show as
 * a table (a view, perhaps over a masked table) counts as having every masked column name; a
 * statement whose column references cannot be followed (unparseable, a `*` or a whole row in a
 * subquery or a predicate) counts as using them (fail closed).
 */
import {
  findMaskedColumnUse,
  type SchemaTable,
  type SqlDialect,
  type SqlFinding,
  type SqlReview,
} from "@dbward/shared";
import type { MaskingPolicyConfig } from "../config/masking-config.ts";
import { policiesFor } from "./column-masks.ts";

export const MASKED_COLUMN_RULE = "masked_column_use";
/** A masking policy names a column the schema context does not show: the agent refuses such reads. */
export const UNKNOWN_MASKED_COLUMN_RULE = "masking_policy_unknown_column";

const lower = (s: string): string => s.toLowerCase();

/** The findings that make `sql` need a person because of masked columns; empty when none. */
export function maskedColumnFindings(input: {
  readonly policies: readonly MaskingPolicyConfig[];
  readonly database: string;
  readonly environment: string;
  readonly dialect: SqlDialect;
  readonly sql: string;
  readonly schema: readonly SchemaTable[] | undefined;
}): SqlFinding[] {
  const policies = policiesFor(input.policies, input.database, input.environment);
  if (policies.length === 0) return [];
  const masked = policies.map((p) => ({ table: lower(p.table), column: lower(p.column) }));
  const first = findMaskedColumnUse(input.sql, input.dialect, masked);
  if (!first.determinable) {
    return [
      finding(
        `this database has masked columns, and the review cannot tell whether the statement uses one beyond showing it (${first.why}), so a person must approve it`,
      ),
    ];
  }
  const tables = input.schema === undefined ? undefined : new Set(input.schema.map((t) => lower(t.name)));
  // A known table with a column named like a masked one may hold a masked table's rows (a
  // partition or inheritance child): it counts as having the masked names too.
  const maskedColumns = new Set(masked.map((m) => m.column));
  const lookalike = new Set(
    (input.schema ?? [])
      .filter((t) => !masked.some((m) => m.table === lower(t.name)))
      .filter((t) => (t.columns ?? []).some((c) => maskedColumns.has(lower(c.name))))
      .map((t) => lower(t.name)),
  );
  // A relation counts as a reported table only by its exact name and schema (column-masks.ts).
  const inexact = new Set(
    first.relations
      .filter(
        (r) =>
          !(input.schema ?? []).some(
            (t) => t.name === r.name && (r.schema === null || t.schema === r.schema),
          ),
      )
      .map((r) => lower(r.name)),
  );
  const unknown = first.reads.filter(
    (r) => tables === undefined || !tables.has(r) || lookalike.has(r) || inexact.has(r),
  );
  const maskedNames = [...new Set(masked.map((m) => m.column))];
  const widened = [
    ...masked,
    ...unknown.flatMap((table) => maskedNames.map((column) => ({ table, column }))),
  ];
  const found = unknown.length === 0 ? first : findMaskedColumnUse(input.sql, input.dialect, widened);
  if (!found.determinable || found.uses.length === 0) return [];
  const named = found.uses.map((u) =>
    masked.some((m) => `${m.table}.${m.column}` === u)
      ? u
      : `${u} (not a masked table, but it may hold one's rows: a view, a partition or an inheritance child)`,
  );
  return [
    finding(
      `the statement filters, joins, groups, orders by or computes over masked column ${named.join(", ")}: that tells its reader about the values without showing them, so a person must approve it`,
    ),
  ];
}

function finding(message: string): SqlFinding {
  return {
    rule: MASKED_COLUMN_RULE,
    severity: "warn",
    message,
    hint: "show the masked column instead of filtering or computing over it, or ask someone allowed clear values",
  };
}

/** `review` with the masked-column findings for its text added (plan-request.ts). */
export function withMaskedColumnFindings(
  review: SqlReview,
  input: Parameters<typeof maskedColumnFindings>[0],
): SqlReview {
  const findings = [...maskingSchemaFindings(input), ...maskedColumnFindings(input)];
  return findings.length === 0 ? review : { ...review, findings: [...review.findings, ...findings] };
}

/** Whether a review carries a masked-column finding: then nothing auto-approves it. */
export function hasMaskedColumnFinding(review: SqlReview): boolean {
  return review.findings.some((f) => f.rule === MASKED_COLUMN_RULE);
}

/**
 * The masking policies of the target that name a column its schema context does not show (a
 * typo, a renamed or dropped column): a config error, which `dbward policy explain --schema`
 * and every request's review show. The agent refuses the reads they would sign masks for
 * (`masking.unknown_column`) rather than run them unmasked. A table the context does not show
 * (a cut report, another schema) is not judged here; the agent checks it against the catalogue.
 */
export function maskingSchemaFindings(input: {
  readonly policies: readonly MaskingPolicyConfig[];
  readonly database: string;
  readonly environment: string;
  readonly schema: readonly SchemaTable[] | undefined;
}): SqlFinding[] {
  if (input.schema === undefined) return [];
  const schema = input.schema;
  return policiesFor(input.policies, input.database, input.environment).flatMap((p) => {
    const tables = schema.filter(
      (t) =>
        lower(t.name) === lower(p.table) && (p.schema === undefined || lower(t.schema) === lower(p.schema)),
    );
    if (tables.length === 0) return [];
    if (tables.some((t) => t.columns.some((c) => lower(c.name) === lower(p.column)))) return [];
    return [
      {
        rule: UNKNOWN_MASKED_COLUMN_RULE,
        severity: "warn" as const,
        message: `the masking policy for ${p.table}.${p.column} names a column ${p.table} does not have, so the agent refuses reads of this database that it would mask (masking.unknown_column)`,
        hint: "correct the column's name under masking.policies in the bot's config",
      },
    ];
  });
}
