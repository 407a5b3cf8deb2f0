/** PostgreSQL DDL. */
import { corpus, ROWS, SCHEMA, type CorpusCase } from "./corpus-case.ts";

const { ddl } = corpus("postgres");

export const POSTGRES_DDL: readonly CorpusCase[] = [
  ddl("CREATE TABLE accounts_archive (id int)", "CREATE TABLE is DDL", { effect: SCHEMA }),
  ddl("ALTER TABLE accounts ADD COLUMN region text", "ALTER TABLE ADD COLUMN is DDL", { effect: SCHEMA }),
  ddl("ALTER TABLE accounts ADD COLUMN tier int NOT NULL", "NOT NULL without DEFAULT is DDL with a warning", {
    rule: "not_null_without_default",
    unprovable: "it fails on a table with rows, which is what the rule warns about",
  }),
  ddl("ALTER TABLE accounts ADD COLUMN tier int NOT NULL DEFAULT 0", "NOT NULL with DEFAULT is DDL", {
    effect: SCHEMA,
  }),
  ddl("ALTER TABLE accounts DROP COLUMN note", "DROP COLUMN is DDL", { effect: SCHEMA, rule: "drop_column" }),
  ddl("ALTER TABLE accounts ALTER COLUMN balance TYPE bigint", "changing a column type is DDL", {
    effect: SCHEMA,
    rule: "alter_column_type",
  }),
  ddl("DROP TABLE ledger", "DROP TABLE is DDL", { effect: SCHEMA, rule: "drop_table" }),
  ddl("DROP TABLE IF EXISTS ledger CASCADE", "DROP TABLE … CASCADE is DDL", {
    effect: SCHEMA,
    rule: "cascade",
  }),
  ddl("TRUNCATE ledger", "TRUNCATE is DDL", { effect: ROWS, rule: "truncate" }),
  ddl("TRUNCATE accounts, ledger CASCADE", "TRUNCATE … CASCADE is DDL", { effect: ROWS, rule: "cascade" }),
  ddl("CREATE INDEX accounts_owner_idx ON accounts (owner)", "CREATE INDEX is DDL", {
    effect: SCHEMA,
    rule: "create_index_not_concurrently",
  }),
  ddl(
    "CREATE INDEX CONCURRENTLY accounts_owner_idx ON accounts (owner)",
    "CREATE INDEX CONCURRENTLY is DDL",
    {
      unprovable: "CONCURRENTLY cannot run inside the test's transaction",
    },
  ),
  ddl("DROP INDEX accounts_balance_idx", "DROP INDEX is DDL", { effect: SCHEMA, rule: "drop_index" }),
  ddl("CREATE VIEW accounts_view AS SELECT * FROM accounts", "CREATE VIEW is DDL", { effect: SCHEMA }),
  ddl("DROP VIEW accounts_rich", "DROP VIEW is DDL", { effect: SCHEMA, rule: "drop_view" }),
  ddl("CREATE SEQUENCE accounts_seq2", "CREATE SEQUENCE is DDL", { effect: SCHEMA, rule: "create_sequence" }),
  ddl("DROP SEQUENCE accounts_extra_seq", "DROP SEQUENCE is DDL", { effect: SCHEMA, rule: "drop_sequence" }),
  ddl("SELECT * INTO accounts_copy FROM accounts", "SELECT … INTO creates a table", {
    effect: SCHEMA,
    rule: "select_into",
  }),
  ddl("CREATE TABLE accounts_copy AS SELECT * FROM accounts", "CREATE TABLE … AS is DDL", { effect: SCHEMA }),
  ddl("COMMENT ON TABLE accounts IS 'customer accounts'", "COMMENT ON is DDL", { effect: SCHEMA }),
  ddl("ALTER TABLE accounts RENAME COLUMN note TO remark", "RENAME COLUMN is DDL", { effect: SCHEMA }),
  ddl("CREATE MATERIALIZED VIEW accounts_mv AS SELECT 1 AS one", "CREATE MATERIALIZED VIEW is DDL", {
    effect: SCHEMA,
  }),
  ddl("ALTER TABLE accounts ADD CONSTRAINT accounts_bal_chk CHECK (balance >= 0)", "ADD CONSTRAINT is DDL", {
    effect: SCHEMA,
  }),
  ddl("VACUUM accounts", "VACUUM is DDL", { unprovable: "VACUUM cannot run inside the test's transaction" }),
];
