/**
 * MySQL/MariaDB reads, writes, locks and DDL. The honesty test runs them on MariaDB 10.11, so
 * MySQL 8-only syntax is marked as such. Refusals are in `mysql-refusals.ts`.
 */
import {
  ADVISORY_LOCK,
  corpus,
  probe,
  ROW_LOCK,
  ROWS,
  SCHEMA,
  SLEEP,
  type CorpusCase,
} from "./corpus-case.ts";

const { read, write, ddl } = corpus("mysql");
const MYSQL8 = "MySQL 8 syntax; the test server is MariaDB 10.11";

export const MYSQL_READS: readonly CorpusCase[] = [
  read("SELECT * FROM accounts", "a plain select is a read"),
  read(
    "SELECT id, owner FROM accounts WHERE balance > 10 ORDER BY id LIMIT 5",
    "filters, ordering and limits are reads",
  ),
  read("select count(*) from accounts a join ledger l on l.account_id = a.id", "a join is a read"),
  read("SELECT owner FROM accounts WHERE id IN (SELECT account_id FROM ledger)", "a subquery is a read"),
  read(
    "SELECT 'DELETE FROM accounts; DROP TABLE accounts' AS s",
    "a semicolon inside a string does not split",
  ),
  read('SELECT "double; quoted" AS s', "a semicolon inside a double-quoted string does not split"),
  read("SELECT 1 /* ; DELETE FROM accounts */", "a semicolon inside a block comment does not split"),
  read("SELECT 1 # ; DELETE FROM accounts", "a semicolon inside a # comment does not split"),
  read("SELECT 1 -- ; DELETE FROM accounts", "a semicolon inside a -- comment does not split"),
  read(
    "SELECT 'it\\'s; DROP TABLE accounts'",
    "a backslash-escaped quote that no sql_mode could split is a read",
  ),
  read("SELECT 'it''s'", "a doubled quote stays inside the string"),
  read("sElEcT OwNeR fRoM AcCoUnTs", "keywords in mixed case are still a read"),
  read("SELECT `owner` FROM `accounts`", "backquoted identifiers are a read"),
  read("SELECT 'sleep(10)' AS s", "a function name inside a string is not a call"),
  read("SELECT now(), version(), database()", "harmless built-in functions are a read"),
  read("SELECT LOWER(UPPER(TRIM(owner))) FROM accounts", "nested harmless functions are a read"),
  read(
    "SELECT owner, SUM(balance) FROM accounts GROUP BY owner HAVING COUNT(*) > 0",
    "aggregates are a read",
  ),
  read("SELECT * FROM accounts UNION SELECT * FROM accounts", "a union of reads is a read"),
  read("SHOW TABLES", "SHOW is a read"),
  read("DESCRIBE accounts", "DESCRIBE is a read"),
  read("EXPLAIN SELECT * FROM accounts", "EXPLAIN of a select is a read"),
  read(
    "SET SESSION max_statement_time = 5; SELECT * FROM accounts",
    "a safe SET SESSION before one statement is allowed",
  ),
  read("SET lock_wait_timeout = 5; SELECT 1", "a safe SET before one statement is allowed"),
  read("SET @@session.innodb_lock_wait_timeout = 5; SELECT 1", "a safe @@session setting is allowed"),
  read("SELECT 0x41, X'41', b'1000001'", "hex and bit literals are a read"),
  read("SELECT _utf8mb4'x' COLLATE utf8mb4_bin", "a charset introducer is a read"),
  read("SELECT * FROM accounts WHERE id IN (1, 2, 3)", "a small IN list is a read"),
  read("SELECT IS_FREE_LOCK('accounts_lock')", "asking about a lock without taking it is a read"),
  read("SELECT LAST_INSERT_ID()", "LAST_INSERT_ID() without an argument is a read"),
  read("SELECT @@session.sql_mode", "reading a system variable is a read"),
  read("SELECT CASE WHEN balance > 0 THEN 'pos' ELSE 'zero' END FROM accounts", "CASE is a read"),
  read("select/**/owner/**/from/**/accounts", "comments used as whitespace are a read"),
  read("SELECT * FROM accounts;", "a trailing semicolon is still one statement"),
  read("SELECT EXISTS(SELECT 1 FROM ledger WHERE amount < 0)", "EXISTS is a read"),
  read("SELECT 1 - -1", "two minus signs with a space are a read"),
  read("SELECT 'a' 'b'", "adjacent strings are a read"),
  read('SELECT "it\\"s"', "a backslash-escaped double quote that no sql_mode could split is a read"),
  read("SELECT owner FROM accounts WHERE note LIKE 'C:\\\\%'", "a doubled backslash is a read"),
  read("SELECT 1 /*+ MAX_EXECUTION_TIME(1000) */", "an optimizer hint is a comment, not code"),
];

export const MYSQL_WRITES: readonly CorpusCase[] = [
  write("DELETE FROM accounts WHERE id = 3", "DELETE is a write", { effect: ROWS }),
  write("UPDATE accounts SET balance = balance + 1 WHERE id = 1", "UPDATE is a write", { effect: ROWS }),
  write("INSERT INTO ledger (account_id, amount) VALUES (1, 5)", "INSERT is a write", { effect: ROWS }),
  write("REPLACE INTO accounts (id, owner, balance) VALUES (1, 'ann', 7)", "REPLACE is a write", {
    effect: ROWS,
  }),
  write(
    "INSERT INTO accounts (id, owner) VALUES (1, 'x') ON DUPLICATE KEY UPDATE balance = 0",
    "ON DUPLICATE KEY UPDATE is a write",
    { effect: ROWS },
  ),
  write("INSERT INTO ledger (account_id, amount) SELECT id, 1 FROM accounts", "INSERT … SELECT is a write", {
    effect: ROWS,
  }),
  write(
    "UPDATE accounts a JOIN ledger l ON l.account_id = a.id SET a.balance = 0",
    "a multi-table UPDATE is a write",
    { effect: ROWS, rule: "no_where_update" },
  ),
  write(
    "DELETE a FROM accounts a JOIN ledger l ON l.account_id = a.id WHERE l.amount < 0",
    "a multi-table DELETE is a write",
    { effect: ROWS },
  ),
  write("INSERT INTO accounts SET owner = 'dee'", "INSERT … SET is a write", { effect: ROWS }),
  write("DELETE FROM ledger", "DELETE without WHERE is a write that the rule blocks", {
    effect: ROWS,
    rule: "no_where_delete",
  }),
  write("UPDATE accounts SET balance = 0 WHERE 1", "UPDATE with WHERE 1 counts as no WHERE", {
    effect: ROWS,
    rule: "no_where_update",
  }),
  write("SELECT * FROM accounts WHERE id = 1 FOR UPDATE", "FOR UPDATE locks rows", {
    effect: ROW_LOCK,
    rule: "row_lock",
  }),
  write("SELECT * FROM accounts WHERE id = 1 LOCK IN SHARE MODE", "LOCK IN SHARE MODE locks rows", {
    effect: ROW_LOCK,
  }),
  write("SELECT * FROM accounts WHERE id = 1 FOR UPDATE NOWAIT", "FOR UPDATE NOWAIT locks rows", {
    effect: ROW_LOCK,
  }),
  write(
    "SELECT * FROM accounts WHERE id IN (SELECT id FROM accounts WHERE id = 1 FOR UPDATE)",
    "a lock inside a subquery still locks",
    {
      effect: ROW_LOCK,
    },
  ),
  write("SELECT * FROM accounts WHERE id = 1 FOR SHARE", "FOR SHARE is never a read", { unprovable: MYSQL8 }),
  write("SELECT SLEEP(0.2)", "SLEEP is not a read", { effect: SLEEP, rule: "side_effect_function" }),
  write("select sleep(0.2)", "a lower-case sleep is not a read", { effect: SLEEP }),
  write("SELECT * FROM accounts ORDER BY SLEEP(0.1)", "SLEEP in ORDER BY is not a read", { effect: SLEEP }),
  write("SELECT * FROM accounts WHERE id IN (SELECT SLEEP(0.2))", "SLEEP in a subquery is not a read", {
    effect: SLEEP,
  }),
  write("SELECT `SLEEP`(0.2)", "a backquoted SLEEP is not a read", { effect: SLEEP }),
  write("SELECT test.sleep(0.2)", "a schema-qualified sleep is not a read", {
    unprovable: "MariaDB reads a qualified name as a stored function, which does not exist",
  }),
  write("SELECT BENCHMARK(1000, MD5('x'))", "BENCHMARK is not a read", {
    unprovable: "it only burns CPU; nothing to observe afterwards",
  }),
  write("SELECT GET_LOCK('accounts_lock', 0)", "GET_LOCK is not a read", { effect: ADVISORY_LOCK }),
  write(
    "SELECT * FROM accounts WHERE id = 1 AND GET_LOCK('accounts_lock', 0)",
    "GET_LOCK in WHERE is not a read",
    { effect: ADVISORY_LOCK },
  ),
  write("SELECT RELEASE_LOCK('accounts_lock')", "RELEASE_LOCK is not a read", {
    unprovable: "a fresh session holds no lock to release",
  }),
  write("SELECT owner INTO @dbward_x FROM accounts WHERE id = 1", "SELECT … INTO @variable is not a read", {
    effect: probe("SELECT coalesce(@dbward_x, 'unset')"),
    rule: "variable_assignment",
  }),
  write("SELECT @dbward_x := 5", "assigning a user variable is not a read", {
    effect: probe("SELECT coalesce(@dbward_x, 'unset')"),
  }),
  write("SELECT LAST_INSERT_ID(42)", "LAST_INSERT_ID with an argument sets session state", {
    effect: probe("SELECT LAST_INSERT_ID()"),
  }),
  write("SELECT LOAD_FILE('/etc/hostname')", "LOAD_FILE reads server files", {
    unprovable: "reading a server file changes nothing the test can observe",
  }),
  write("CALL accounts_touch()", "CALL is never a read", {
    unprovable: "the scratch schema has no procedure",
    rule: "unknown_effect",
  }),
  write("DO SLEEP(0.2)", "DO, which the parser cannot read, is never a read", {
    effect: SLEEP,
    rule: "parse_error",
  }),
  write("PREPARE accounts_s FROM 'SELECT 1'", "PREPARE is never a read", {
    unprovable: "a prepared statement leaves nothing a query can observe",
  }),
  write(
    "SET max_statement_time = 5; UPDATE accounts SET balance = 1 WHERE id = 1",
    "a safe SET may lead a write",
    { effect: ROWS },
  ),
  write("EXPLAIN ANALYZE SELECT * FROM accounts", "EXPLAIN ANALYZE is never a read", { unprovable: MYSQL8 }),
];

export const MYSQL_DDL: readonly CorpusCase[] = [
  ddl("CREATE TABLE accounts_archive (id INT)", "CREATE TABLE is DDL", { effect: SCHEMA }),
  ddl("ALTER TABLE accounts ADD COLUMN region VARCHAR(10)", "ADD COLUMN is DDL", { effect: SCHEMA }),
  ddl("ALTER TABLE accounts ADD COLUMN tier INT NOT NULL", "NOT NULL without DEFAULT is DDL with a warning", {
    effect: SCHEMA,
    rule: "not_null_without_default",
  }),
  ddl("ALTER TABLE accounts DROP COLUMN note", "DROP COLUMN is DDL", { effect: SCHEMA, rule: "drop_column" }),
  ddl("ALTER TABLE accounts MODIFY balance BIGINT", "MODIFY is DDL", {
    effect: SCHEMA,
    rule: "alter_column_type",
  }),
  ddl("ALTER TABLE accounts CHANGE note remark TEXT", "CHANGE is DDL", {
    effect: SCHEMA,
    rule: "alter_column_type",
  }),
  ddl("ALTER TABLE accounts DROP INDEX accounts_balance_idx", "ALTER TABLE … DROP INDEX is DDL", {
    effect: SCHEMA,
    rule: "drop_index",
  }),
  ddl("DROP TABLE ledger", "DROP TABLE is DDL", { effect: SCHEMA, rule: "drop_table" }),
  ddl("DROP TABLE IF EXISTS ledger", "DROP TABLE IF EXISTS is DDL", { effect: SCHEMA, rule: "drop_table" }),
  ddl("DROP TABLE ledger CASCADE", "DROP TABLE … CASCADE, which the parser cannot read, is DDL", {
    effect: SCHEMA,
    rule: "cascade",
  }),
  ddl("TRUNCATE TABLE ledger", "TRUNCATE is DDL", { effect: ROWS, rule: "truncate" }),
  ddl("CREATE INDEX accounts_owner_idx ON accounts (owner)", "CREATE INDEX is DDL", { effect: SCHEMA }),
  ddl("DROP INDEX accounts_balance_idx ON accounts", "DROP INDEX is DDL", {
    effect: SCHEMA,
    rule: "drop_index",
  }),
  ddl("CREATE VIEW accounts_view AS SELECT * FROM accounts", "CREATE VIEW is DDL", { effect: SCHEMA }),
  ddl("DROP VIEW accounts_rich", "DROP VIEW is DDL", { effect: SCHEMA, rule: "drop_view" }),
  ddl("RENAME TABLE ledger TO ledger_old", "RENAME TABLE is DDL", { effect: SCHEMA }),
  ddl("CREATE SEQUENCE accounts_seq2", "CREATE SEQUENCE, which the parser cannot read, is DDL", {
    effect: SCHEMA,
    rule: "create_sequence",
  }),
  ddl("OPTIMIZE TABLE accounts", "OPTIMIZE TABLE, which the parser cannot read, is DDL", {
    unprovable: "it rebuilds the table without changing what a query can see",
  }),
];
