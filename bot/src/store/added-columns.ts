/**
 * Columns schema.sql gained after stores were created with their table: `CREATE TABLE IF NOT
 * EXISTS` leaves such a table as it is, so each is added at open (nullable, so existing rows stay
 * valid) before schema.sql runs, whose indexes may name it. Written once for both engines: the
 * definition is in schema.sql's shared SQL, and the PostgreSQL opener passes it through the same
 * rewrites as schema.sql (postgres-schema.ts).
 */
export interface AddedColumn {
  readonly table: string;
  readonly column: string;
  /** The column's type and constraints, as in schema.sql. */
  readonly definition: string;
}

export const ADDED_COLUMNS: readonly AddedColumn[] = [
  { table: "requests", column: "rerun_of", definition: "INTEGER REFERENCES requests (id)" },
  { table: "slack_outbox", column: "lease_token", definition: "TEXT" },
  { table: "requests", column: "run_by", definition: "TEXT" },
  { table: "requests", column: "run_requested_at", definition: "TEXT" },
  { table: "requests", column: "not_before", definition: "TEXT" },
  { table: "preflights", column: "affected_rows", definition: "INTEGER" },
  { table: "schema_contexts", column: "report_id", definition: "TEXT" },
  { table: "signing_keys", column: "checkpoints_until_seq", definition: "INTEGER" },
  { table: "checkpoint_signing_keys", column: "until_seq", definition: "INTEGER" },
  { table: "executions", column: "result_columns", definition: "TEXT" },
];
