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
const NO_ROUTINE = "the scratch schema has no such function, so the server refuses the call";

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
  ...ANALYST_READS(),
  ...GRAMMAR_READS(),
];

/** Everyday analyst queries, some of which node-sql-parser reads only after a rewrite. */
function ANALYST_READS(): CorpusCase[] {
  return [
    read(
      "SELECT jt.id, jt.rn FROM JSON_TABLE('[{\"id\": 1}, {\"id\": 2}]', '$[*]' COLUMNS (rn FOR ORDINALITY, id INT PATH '$.id' NULL ON EMPTY)) AS jt",
      "JSON_TABLE is a read",
    ),
    read(
      "SELECT a.owner, j.v FROM accounts a, JSON_TABLE(CONCAT('[', a.id, ']'), '$[*]' COLUMNS (v DECIMAL(10,2) PATH '$')) AS j",
      "JSON_TABLE over a column is a read",
    ),
    read(
      "SELECT owner, GROUP_CONCAT(DISTINCT id ORDER BY id SEPARATOR ',') FROM accounts GROUP BY owner",
      "GROUP_CONCAT is a read",
    ),
    read(
      "SELECT owner FROM accounts WHERE owner REGEXP '^[a-c]' AND owner NOT RLIKE 'z$'",
      "REGEXP is a read",
    ),
    read(
      "SELECT REGEXP_REPLACE(owner, '[aeiou]', '*'), REGEXP_SUBSTR(owner, '[a-z]+') FROM accounts",
      "regex functions are reads",
    ),
    read("SELECT id FROM accounts USE INDEX (accounts_balance_idx) WHERE balance > 1", "USE INDEX is a read"),
    read(
      "SELECT a.id FROM accounts a FORCE INDEX FOR JOIN (PRIMARY) JOIN ledger l IGNORE INDEX (PRIMARY) ON l.account_id = a.id",
      "FORCE and IGNORE INDEX are reads",
    ),
    read(
      "SELECT _utf8mb4'x' AS q, N'y' AS r, _latin1 'z' AS s",
      "charset-introduced and national literals are reads",
    ),
    read(
      "SELECT SQL_NO_CACHE STRAIGHT_JOIN a.id FROM accounts a JOIN ledger l ON l.account_id = a.id",
      "SQL_NO_CACHE STRAIGHT_JOIN is a read",
    ),
    read("SELECT HIGH_PRIORITY DISTINCTROW owner FROM accounts", "HIGH_PRIORITY DISTINCTROW is a read"),
    read(
      "SELECT id, ROW_NUMBER() OVER (PARTITION BY owner ORDER BY balance DESC) AS rn, SUM(balance) OVER () AS total, LAG(balance, 1) OVER (ORDER BY id) AS prev FROM accounts",
      "window functions are reads",
    ),
    read(
      "SELECT id, RANK() OVER w, NTILE(2) OVER w, FIRST_VALUE(owner) OVER w FROM accounts WINDOW w AS (ORDER BY balance)",
      "a named window is a read",
    ),
    read(
      "SELECT DATE_ADD(NOW(), INTERVAL 1 DAY), CURDATE() - INTERVAL 7 DAY, DATEDIFF('2024-03-01', '2024-02-01'), TIMESTAMPDIFF(HOUR, '2024-01-01', NOW()), EXTRACT(YEAR FROM NOW()), DATE_FORMAT(NOW(), '%Y-%m')",
      "date arithmetic is a read",
    ),
    read(
      "WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5) SELECT i FROM n",
      "a recursive CTE is a read",
    ),
    read(
      "WITH rich AS (SELECT id, owner FROM accounts WHERE balance > 10) SELECT r.owner, COUNT(l.id) FROM rich r LEFT JOIN ledger l ON l.account_id = r.id GROUP BY r.owner",
      "a CTE is a read",
    ),
    read(
      "SELECT CAST(balance AS CHAR(10)), CAST(id AS UNSIGNED), CONVERT(balance, SIGNED), CAST('2024-01-01' AS DATE), CAST(balance AS DECIMAL(12,2)) FROM accounts",
      "casts to built-in types are reads",
    ),
    read(
      "SELECT JSON_OBJECT('id', id, 'owner', owner), JSON_EXTRACT('{\"a\": 1}', '$.a'), JSON_ARRAYAGG(id) FROM accounts GROUP BY owner",
      "JSON functions are reads",
    ),
    read(
      "SELECT COUNT(DISTINCT owner), AVG(balance), MAX(balance), STDDEV_POP(balance), BIT_OR(id) FROM accounts",
      "aggregates are reads",
    ),
    read("SELECT owner, SUM(balance) FROM accounts GROUP BY owner WITH ROLLUP", "WITH ROLLUP is a read"),
    read(
      "SELECT IF(balance > 0, 'pos', 'neg'), IFNULL(note, '-'), COALESCE(note, owner), NULLIF(owner, ''), GREATEST(1, id) FROM accounts",
      "control-flow functions are reads",
    ),
    read("SELECT IS_USED_LOCK('accounts_lock')", "asking who holds a lock is a read"),
    read(
      "SELECT CONNECTION_ID(), CURRENT_USER(), DATABASE(), ROW_COUNT(), FOUND_ROWS()",
      "information functions are reads",
    ),
  ];
}

/** Statements node-sql-parser cannot read, recognised by dbward's own grammar. */
function GRAMMAR_READS(): CorpusCase[] {
  return [
    read("SHOW FULL COLUMNS FROM accounts", "SHOW FULL COLUMNS is a read"),
    read("SHOW COLUMNS FROM accounts LIKE 'own%'", "SHOW COLUMNS … LIKE is a read"),
    read("SHOW TABLE STATUS", "SHOW TABLE STATUS is a read"),
    read("SHOW TABLE STATUS LIKE 'accounts'", "SHOW TABLE STATUS LIKE is a read"),
    read("SHOW VARIABLES LIKE 'max_%'", "SHOW VARIABLES LIKE is a read"),
    read("SHOW SESSION VARIABLES WHERE Variable_name = 'autocommit'", "SHOW VARIABLES WHERE is a read"),
    read("SHOW GLOBAL STATUS LIKE 'Uptime'", "SHOW GLOBAL STATUS is a read"),
    read("SHOW GRANTS", "SHOW GRANTS is a read"),
    read("SHOW GRANTS FOR CURRENT_USER()", "SHOW GRANTS FOR CURRENT_USER is a read"),
    read("SHOW WARNINGS", "SHOW WARNINGS is a read"),
    read("SHOW ERRORS LIMIT 5", "SHOW ERRORS LIMIT is a read"),
    read("SHOW COUNT(*) WARNINGS", "SHOW COUNT(*) WARNINGS is a read"),
    read("SHOW ENGINE INNODB STATUS", "SHOW ENGINE INNODB STATUS is a read"),
    read("SHOW CREATE TABLE accounts", "SHOW CREATE TABLE is a read"),
    read("SHOW CREATE VIEW accounts_rich", "SHOW CREATE VIEW is a read"),
    read("SHOW INDEX FROM accounts", "SHOW INDEX is a read"),
    read("SHOW KEYS IN accounts WHERE Non_unique = 0", "SHOW KEYS … WHERE is a read"),
    read("SHOW DATABASES", "SHOW DATABASES is a read"),
    read("SHOW FULL TABLES FROM test", "SHOW FULL TABLES FROM is a read"),
    read("SHOW FULL PROCESSLIST", "SHOW PROCESSLIST is a read"),
    read("SHOW CHARACTER SET LIKE 'utf8%'", "SHOW CHARACTER SET is a read"),
    read("SHOW COLLATION WHERE Charset = 'latin1'", "SHOW COLLATION WHERE is a read"),
    read("SHOW ENGINES", "SHOW ENGINES is a read"),
    read("SHOW TRIGGERS", "SHOW TRIGGERS is a read"),
    read("SHOW PROCEDURE STATUS", "SHOW PROCEDURE STATUS is a read"),
    read("DESCRIBE accounts owner", "DESCRIBE with a column is a read"),
    read("DESC accounts", "DESC is a read"),
    read("EXPLAIN accounts", "EXPLAIN of a table is a read"),
    read("EXPLAIN FORMAT=JSON SELECT * FROM accounts WHERE id = 1", "EXPLAIN FORMAT=JSON is a read"),
    read("DESCRIBE SELECT owner FROM accounts", "DESCRIBE of a select is a read"),
    read("HELP 'concat'", "HELP is a read"),
    read("VALUES (1, 'a'), (2, 'b')", "VALUES rows are a read"),
  ];
}

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
  ...UNPROVEN_CALLS(),
];

/** Calls the allowlist cannot prove, and never-a-read calls in every clause. */
function UNPROVEN_CALLS(): CorpusCase[] {
  return [
    write("SELECT my_func()", "a stored function is not a read", {
      rule: "unverified_call",
      unprovable: NO_ROUTINE,
    }),
    write("SELECT test.my_func()", "a schema-qualified stored function is not a read", {
      rule: "unverified_call",
      unprovable: NO_ROUTINE,
    }),
    write("SELECT dbward_made_up_fn(1, 2) FROM accounts", "a made-up function is never a read", {
      rule: "unverified_call",
      unprovable: NO_ROUTINE,
    }),
    write("SELECT `index`(1)", "a backquoted keyword called as a function is not a read", {
      rule: "unverified_call",
      unprovable: NO_ROUTINE,
    }),
    write(
      "SELECT owner FROM accounts WHERE my_filter(owner) = 1",
      "a stored function in WHERE is not a read",
      {
        unprovable: NO_ROUTINE,
      },
    ),
    write("SELECT sys_exec('id')", "a loadable function that runs commands is not a read", {
      rule: "side_effect_function",
      unprovable: "lib_mysqludf_sys is not installed on the test server",
    }),
    write("SELECT CONVERT(balance, my_type) FROM accounts", "a cast to an unknown type is not a read", {
      unprovable: "the server refuses the unknown type",
    }),
    write("SELECT CAST(balance AS money) FROM accounts", "a CAST to an unknown type is not a read", {
      unprovable: "the server refuses the unknown type",
    }),
    write(
      "SELECT owner, COUNT(*) FROM accounts GROUP BY owner HAVING SLEEP(0.2) = 0",
      "SLEEP in HAVING is not a read",
      {
        effect: SLEEP,
      },
    ),
    write(
      "SELECT a.id FROM accounts a JOIN ledger l ON l.account_id = a.id AND SLEEP(0.1) = 0",
      "SLEEP in a JOIN condition is not a read",
      {
        effect: SLEEP,
      },
    ),
    write("WITH s AS (SELECT SLEEP(0.2) AS z) SELECT * FROM s", "SLEEP in a CTE is not a read", {
      effect: SLEEP,
    }),
    write("SELECT 1 UNION SELECT SLEEP(0.2)", "SLEEP in a UNION branch is not a read", { effect: SLEEP }),
    write(
      "SELECT CASE WHEN id > 0 THEN SLEEP(0.2) END FROM accounts WHERE id = 1",
      "SLEEP in CASE is not a read",
      {
        effect: SLEEP,
      },
    ),
    write(
      "SELECT * FROM JSON_TABLE(CONCAT('[', SLEEP(0.2), ']'), '$[*]' COLUMNS (v INT PATH '$')) AS j",
      "SLEEP inside JSON_TABLE is not a read",
      { effect: SLEEP },
    ),
    write("SHOW TABLES WHERE SLEEP(0.2) = 0", "SLEEP in SHOW … WHERE is not a read", { effect: SLEEP }),
    write("VALUES (SLEEP(0.2))", "SLEEP in a VALUES row is not a read", { effect: SLEEP }),
    write("SELECT MASTER_GTID_WAIT('0-1-100', 0.2)", "MASTER_GTID_WAIT is not a read", {
      effect: SLEEP,
      rule: "side_effect_function",
    }),
    write("SELECT MASTER_POS_WAIT('log.000001', 4, 1)", "MASTER_POS_WAIT is not a read", {
      unprovable: "the test server is no replica, so it returns at once",
    }),
    write("SELECT NEXT VALUE FOR accounts_seq", "NEXT VALUE FOR advances a sequence", {
      rule: "side_effect_function",
      unprovable: "the scratch schema has no sequence",
    }),
    write("SELECT NEXTVAL(accounts_seq)", "NEXTVAL advances a sequence", {
      unprovable: "the scratch schema has no sequence",
    }),
    write(
      "SELECT * FROM accounts WHERE id = LAST_INSERT_ID(5)",
      "LAST_INSERT_ID(x) in WHERE sets session state",
      {
        effect: probe("SELECT LAST_INSERT_ID()"),
      },
    ),
    write(
      "SELECT GET_LOCK('accounts_lock', 0) FROM accounts WHERE id = 1",
      "GET_LOCK in a column is not a read",
      {
        effect: ADVISORY_LOCK,
      },
    ),
    write("SELECT RELEASE_ALL_LOCKS()", "RELEASE_ALL_LOCKS is not a read", {
      unprovable: "a fresh session holds no lock to release",
    }),
    write("SHOW CREATE USER root", "SHOW CREATE USER, which shows password hashes, is not a read", {
      rule: "not_a_read",
      unprovable: "it changes nothing; it shows a secret",
    }),
    write("SHOW BINLOG EVENTS", "a SHOW form dbward does not know is not a read", {
      unprovable: "it changes nothing; the grammar does not know it",
    }),
    write("SHOW TABLES FROM", "an unfinished SHOW is not a read", { unprovable: "the server refuses it" }),
    write("DESCRIBE accounts owner extra", "DESCRIBE with trailing words is not a read", {
      unprovable: "the server refuses it",
    }),
    write("EXPLAIN FOR CONNECTION 1", "EXPLAIN FOR CONNECTION is not a read", { unprovable: MYSQL8 }),
    write(
      "SELECT id FROM accounts USE INDEX (SLEEP(1))",
      "an index hint that is not a list of names is not a read",
      {
        unprovable: "the server refuses it",
      },
    ),
  ];
}

/**
 * Reads the review must accept that the test server cannot run: MySQL 8-only statements, and
 * MariaDB sequences, which the scratch schema does not have. `mysql-grammar.test.ts` checks them.
 */
export const MYSQL_REVIEW_ONLY_READS: readonly CorpusCase[] = [
  read("TABLE accounts", "TABLE is a read (MySQL 8)"),
  read("TABLE accounts ORDER BY id LIMIT 2", "TABLE … ORDER BY … LIMIT is a read (MySQL 8)"),
  read("VALUES ROW(1, 'a'), ROW(2, 'b')", "VALUES ROW is a read (MySQL 8)"),
  read("SELECT PREVIOUS VALUE FOR accounts_seq", "PREVIOUS VALUE FOR is a read (MariaDB)"),
  read("SELECT LASTVAL(accounts_seq)", "LASTVAL is a read (MariaDB)"),
  read(
    "SELECT ANY_VALUE(owner), REGEXP_LIKE(owner, '^a') FROM accounts GROUP BY id",
    "MySQL 8-only built-ins are reads",
  ),
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
