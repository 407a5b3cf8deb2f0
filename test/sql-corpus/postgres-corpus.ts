/**
 * PostgreSQL reads, writes and locks. DDL is in `postgres-ddl-corpus.ts`, refusals in
 * `postgres-refusals.ts`.
 */
import { ADVISORY_LOCK, corpus, probe, ROW_LOCK, ROWS, SLEEP, type CorpusCase } from "./corpus-case.ts";
import { ALLOWLIST_READS, ALLOWLIST_WRITES } from "./postgres-allowlist-corpus.ts";

const { read, write } = corpus("postgres");

const XID = probe("SELECT coalesce(pg_current_xact_id_if_assigned()::text, 'none')");
const SEQUENCE = probe("SELECT last_value::text || is_called::text FROM accounts_id_seq");

export const POSTGRES_READS: readonly CorpusCase[] = [
  read("SELECT * FROM accounts", "a plain select is a read"),
  read(
    "select id, owner from accounts where balance > 10 order by id limit 5",
    "filters, ordering and limits are reads",
  ),
  read("SELECT count(*) FROM accounts a JOIN ledger l ON l.account_id = a.id", "a join is a read"),
  read(
    "WITH rich AS (SELECT * FROM accounts WHERE balance > 50) SELECT owner FROM rich",
    "a read-only CTE is a read",
  ),
  read("SELECT owner FROM accounts WHERE id IN (SELECT account_id FROM ledger)", "a subquery is a read"),
  read(
    "SELECT 'DELETE FROM accounts; DROP TABLE accounts' AS looks_bad",
    "a semicolon inside a string does not split",
  ),
  read("SELECT $$; DROP TABLE accounts; $$ AS body", "a semicolon inside a dollar quote does not split"),
  read("SELECT $x$ pg_sleep(10) $x$ AS body", "a function name inside a tagged dollar quote is not a call"),
  read("SELECT 1 /* ; DELETE FROM accounts */", "a semicolon inside a block comment does not split"),
  read("SELECT 1 -- ; DROP TABLE accounts", "a semicolon inside a line comment does not split"),
  read("SELECT 1 /* outer /* nested ; */ still comment ; */", "nested block comments hide their semicolons"),
  read("SELECT E'it\\'s; DELETE FROM accounts'", "an E'' string with an escaped quote stays one string"),
  read("SELECT 'it''s; DROP TABLE accounts'", "a doubled quote stays inside the string"),
  read(
    "SELECT owner FROM accounts WHERE note LIKE 'C:\\path%'",
    "a backslash that cannot end a string is harmless",
  ),
  read("sElEcT OwNeR fRoM AcCoUnTs", "keywords in mixed case are still a read"),
  read('SELECT "owner" FROM "accounts"', "quoted identifiers are a read"),
  read(
    "SELECT pg_sleep_col FROM (SELECT 1 AS pg_sleep_col) s",
    "a column named like a function is not a call",
  ),
  read("SELECT 'pg_sleep(10)' AS text_only", "a function name inside a string is not a call"),
  read("SELECT now(), current_user, version()", "harmless built-in functions are a read"),
  read("SELECT lower(upper(trim(owner))) FROM accounts", "nested harmless functions are a read"),
  read(
    "SELECT coalesce(sum(balance), 0) FROM accounts GROUP BY owner HAVING count(*) > 0",
    "aggregates are a read",
  ),
  read(
    "SELECT owner, row_number() OVER (ORDER BY balance DESC) FROM accounts",
    "window functions are a read",
  ),
  read("SELECT * FROM accounts UNION ALL SELECT * FROM accounts", "a union of reads is a read"),
  read("VALUES (1, 'a'), (2, 'b')", "VALUES is a read"),
  read("TABLE accounts", "TABLE is a read"),
  read("SHOW statement_timeout", "SHOW is a read"),
  read("EXPLAIN SELECT * FROM accounts", "EXPLAIN of a select is a read"),
  read("EXPLAIN DELETE FROM accounts", "plain EXPLAIN only plans a delete, so it is a read"),
  read("EXPLAIN (ANALYZE false) UPDATE accounts SET balance = 0", "EXPLAIN with ANALYZE false does not run"),
  read("SET statement_timeout = '5s'; SELECT * FROM accounts", "a safe SET before one statement is allowed"),
  read(
    "SET LOCAL lock_timeout = '1s'; SET work_mem = '64MB'; SELECT count(*) FROM accounts",
    "several safe SETs may lead",
  ),
  read("SET TIME ZONE 'UTC'; SELECT now()", "SET TIME ZONE is a safe setting"),
  read(
    "SELECT txid_current_if_assigned(), pg_current_xact_id_if_assigned()",
    "asking for an xid without assigning one is a read",
  ),
  read("SELECT current_setting('work_mem')", "reading a setting is a read"),
  read("SELECT * FROM accounts WHERE owner = ANY(ARRAY['ann', 'bob'])", "ANY over a small array is a read"),
  read("SELECT jsonb_build_object('a', 1) ->> 'a'", "JSON operators are a read"),
  read("SELECT * FROM generate_series(1, 3)", "a set-returning function in FROM is a read"),
  read("SELECT EXISTS (SELECT 1 FROM ledger WHERE amount < 0)", "EXISTS is a read"),
  read("SELECT CASE WHEN balance > 0 THEN 'pos' ELSE 'zero' END FROM accounts", "CASE is a read"),
  read("select/**/owner/**/from/**/accounts", "comments used as whitespace are a read"),
  read("SELECT U&'d\\0061t\\+000061'", "a Unicode escape string is a read"),
  read("SELECT B'1010', X'FF'", "bit strings are a read"),
  read("SELECT pg_catalog.lower('X')", "a schema-qualified harmless function is a read"),
  read("SELECT * FROM accounts;", "a trailing semicolon is still one statement"),
  read("SELECT 1;;", "empty statements between semicolons are ignored"),
  read("SELECT 'a'\n'b'", "a string continued on the next line is a read"),
  read("SELECT to_char(now(), 'YYYY'), length(E'\\\\x')", "formatting functions and E'' escapes are a read"),
  read("SELECT currval FROM (SELECT 1 AS currval) s", "a column named currval is a read"),
  ...ALLOWLIST_READS,
];

export const POSTGRES_WRITES: readonly CorpusCase[] = [
  write("DELETE FROM accounts WHERE id = 3", "DELETE is a write", { effect: ROWS }),
  write("UPDATE accounts SET balance = balance + 1 WHERE id = 1", "UPDATE is a write", { effect: ROWS }),
  write("INSERT INTO ledger (account_id, amount) VALUES (1, 5)", "INSERT is a write", { effect: ROWS }),
  write(
    "INSERT INTO accounts (owner) VALUES ('dee') ON CONFLICT DO NOTHING",
    "INSERT … ON CONFLICT is a write",
    { effect: ROWS },
  ),
  write(
    "UPDATE accounts a SET balance = 0 FROM ledger l WHERE l.account_id = a.id",
    "UPDATE … FROM is a write",
    { effect: ROWS },
  ),
  write(
    "MERGE INTO accounts a USING (VALUES (1, 10)) v(id, amt) ON a.id = v.id WHEN MATCHED THEN UPDATE SET balance = a.balance + v.amt",
    "MERGE is a write",
    { effect: ROWS },
  ),
  write(
    "WITH d AS (DELETE FROM ledger WHERE amount < 0 RETURNING *) SELECT count(*) FROM d",
    "a writable CTE with DELETE is a write",
    { effect: ROWS, rule: "writable_cte" },
  ),
  write(
    "WITH u AS (UPDATE accounts SET note = 'x' WHERE id = 2 RETURNING id) SELECT * FROM u",
    "a writable CTE with UPDATE is a write",
    { effect: ROWS },
  ),
  write(
    "with i as (insert into ledger (account_id, amount) values (2, 1) returning id) select id from i",
    "a writable CTE with INSERT is a write",
    { effect: ROWS },
  ),
  write("EXPLAIN ANALYZE DELETE FROM ledger WHERE id = 1", "EXPLAIN ANALYZE runs its DELETE", {
    effect: ROWS,
  }),
  write(
    "EXPLAIN (ANALYZE, BUFFERS) UPDATE accounts SET balance = 1 WHERE id = 2",
    "EXPLAIN (ANALYZE, …) runs its UPDATE",
    { effect: ROWS },
  ),
  write(
    "explain (analyze true) insert into ledger (account_id, amount) values (1, 1)",
    "EXPLAIN (ANALYZE true) runs its INSERT",
    { effect: ROWS },
  ),
  write("SELECT * FROM accounts WHERE id = 1 FOR UPDATE", "FOR UPDATE locks rows", {
    effect: ROW_LOCK,
    rule: "row_lock",
  }),
  write("SELECT * FROM accounts WHERE id = 1 FOR NO KEY UPDATE", "FOR NO KEY UPDATE locks rows", {
    effect: ROW_LOCK,
  }),
  write("SELECT * FROM accounts WHERE id = 1 FOR SHARE", "FOR SHARE locks rows", { effect: ROW_LOCK }),
  write("SELECT * FROM accounts WHERE id = 1 FOR KEY SHARE", "FOR KEY SHARE locks rows", {
    effect: ROW_LOCK,
  }),
  write("SELECT 1 FROM accounts WHERE id = 1 FOR UPDATE NOWAIT", "FOR UPDATE NOWAIT locks rows", {
    effect: ROW_LOCK,
  }),
  write(
    "SELECT * FROM (SELECT * FROM accounts WHERE id = 1 FOR UPDATE) s",
    "a lock inside a subquery still locks",
    { effect: ROW_LOCK },
  ),
  write(
    "WITH l AS (SELECT * FROM accounts WHERE id = 1 FOR UPDATE SKIP LOCKED) SELECT * FROM l",
    "a lock inside a CTE still locks",
    { effect: ROW_LOCK },
  ),
  write("SELECT pg_sleep(0.2)", "pg_sleep is not a read", { effect: SLEEP, rule: "side_effect_function" }),
  write("SELECT pg_catalog.pg_sleep(0.2)", "a schema-qualified pg_sleep is not a read", { effect: SLEEP }),
  write('SELECT "pg_sleep"(0.2)', "a quoted pg_sleep is not a read", { effect: SLEEP }),
  write("SELECT PG_SLEEP(0.2)", "an upper-case PG_SLEEP is not a read", { effect: SLEEP }),
  write("SELECT * FROM accounts ORDER BY pg_sleep(0.1)::text", "pg_sleep in ORDER BY is not a read", {
    effect: SLEEP,
  }),
  write(
    "SELECT * FROM accounts WHERE id IN (SELECT 1 FROM pg_sleep(0.2))",
    "pg_sleep in a subquery's FROM is not a read",
    { effect: SLEEP },
  ),
  write("SELECT pg_sleep_for('200 milliseconds')", "pg_sleep_for is not a read", { effect: SLEEP }),
  write(
    "SELECT lower(coalesce(pg_sleep(0.2)::text, 'x'))",
    "pg_sleep nested in function arguments is not a read",
    { effect: SLEEP },
  ),
  write("SELECT pg_advisory_lock(42)", "pg_advisory_lock is not a read", { effect: ADVISORY_LOCK }),
  write("SELECT pg_try_advisory_lock(42)", "pg_try_advisory_lock is not a read", { effect: ADVISORY_LOCK }),
  write("SELECT pg_advisory_xact_lock(42)", "pg_advisory_xact_lock is not a read", { effect: ADVISORY_LOCK }),
  write(
    "SELECT CASE WHEN true THEN pg_advisory_lock_shared(42) END",
    "a shared advisory lock inside CASE is not a read",
    { effect: ADVISORY_LOCK },
  ),
  write(
    "SELECT * FROM accounts WHERE id = 1 AND pg_try_advisory_lock(42)",
    "an advisory lock in WHERE is not a read",
    { effect: ADVISORY_LOCK },
  ),
  write("SELECT nextval('accounts_id_seq')", "nextval advances a sequence", { effect: SEQUENCE }),
  write("SELECT setval('accounts_id_seq', 100)", "setval moves a sequence", { effect: SEQUENCE }),
  write("SELECT set_config('application_name', 'changed', false)", "set_config changes the session", {
    effect: probe("SELECT current_setting('application_name')"),
  }),
  write(
    "SELECT pg_catalog.set_config('statement_timeout', '1234', true)",
    "a qualified set_config changes the session",
    { effect: probe("SHOW statement_timeout") },
  ),
  write("SELECT txid_current()", "txid_current assigns a transaction id", { effect: XID }),
  write("SELECT pg_current_xact_id()", "pg_current_xact_id assigns a transaction id", { effect: XID }),
  write("SELECT lo_create(0)", "lo_create makes a large object", {
    effect: probe("SELECT count(*) FROM pg_largeobject_metadata"),
  }),
  write("SELECT pg_notify('accounts_chan', 'hi')", "pg_notify signals listeners", {
    unprovable: "notifications are delivered at commit, and the test rolls back",
  }),
  write("SELECT pg_terminate_backend(0)", "pg_terminate_backend is not a read", {
    unprovable: "terminating a real backend would end a session the test needs",
  }),
  write("SELECT pg_cancel_backend(pg_backend_pid())", "pg_cancel_backend is not a read", {
    unprovable: "cancelling a backend leaves nothing to observe afterwards",
  }),
  write("SELECT pg_read_file('PG_VERSION')", "pg_read_file reads server files", {
    unprovable: "reading a server file changes nothing the test can observe",
  }),
  write("SELECT count(*) FROM pg_ls_dir('.')", "pg_ls_dir lists server directories", {
    unprovable: "listing a directory changes nothing the test can observe",
  }),
  write("SELECT * FROM dblink('host=example.com', 'select 1') AS t(x int)", "dblink talks to other servers", {
    unprovable: "the dblink extension is not installed on the test server",
  }),
  write("SELECT query_to_xml('select 1', true, false, '')", "query_to_xml runs SQL the reviewer cannot see", {
    unprovable: "its query here is harmless; the point is that it could be anything",
  }),
  write("DO $$ BEGIN UPDATE accounts SET balance = 0 WHERE id = 1; END $$", "a DO block is never a read", {
    effect: ROWS,
    rule: "unknown_effect",
  }),
  write("PREPARE accounts_p AS SELECT 1", "PREPARE is never a read", {
    effect: probe("SELECT count(*) FROM pg_prepared_statements"),
  }),
  write("DECLARE accounts_c CURSOR FOR SELECT * FROM accounts", "DECLARE CURSOR is never a read", {
    effect: probe("SELECT count(*) FROM pg_cursors"),
  }),
  write("LOCK TABLE accounts IN SHARE MODE", "LOCK TABLE locks", { effect: ROW_LOCK }),
  write("CALL accounts_touch()", "CALL is never a read", {
    unprovable: "the scratch schema has no procedure",
    rule: "unknown_effect",
  }),
  write("EXECUTE accounts_p", "EXECUTE is never a read", {
    unprovable: "the prepared statement does not exist in a fresh session",
  }),
  write("NOTIFY accounts_chan", "NOTIFY is never a read", {
    unprovable: "notifications are delivered at commit, and the test rolls back",
  }),
  write(
    "SET statement_timeout = '5s'; UPDATE accounts SET balance = 1 WHERE id = 1",
    "a safe SET may lead a write",
    { effect: ROWS },
  ),
  write(
    "UPDATE accounts SET note = pg_sleep(0)::text WHERE id = 1",
    "a write with a side-effect function is a write",
    { effect: ROWS },
  ),
  write("DELETE FROM ledger", "DELETE without WHERE is a write that the rule blocks", {
    effect: ROWS,
    rule: "no_where_delete",
  }),
  write("UPDATE accounts SET balance = 0 WHERE 1 = 1", "UPDATE with WHERE 1 = 1 counts as no WHERE", {
    effect: ROWS,
    rule: "no_where_update",
  }),
  ...ALLOWLIST_WRITES,
];
