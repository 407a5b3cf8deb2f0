/** MySQL/MariaDB texts dbward refuses, texts the parser cannot read, and the SQLite demo dialect. */
import { corpus, type CorpusCase } from "./corpus-case.ts";

const { write, rejected } = corpus("mysql");
const NOT_RUN = "the parser cannot read it, and neither can the server";

export const MYSQL_REFUSALS: readonly CorpusCase[] = [
  rejected("START TRANSACTION", "START TRANSACTION is refused", { rule: "rejected_statement" }),
  rejected("BEGIN", "BEGIN is refused"),
  rejected("COMMIT", "COMMIT is refused"),
  rejected("ROLLBACK", "ROLLBACK is refused"),
  rejected("SAVEPOINT s", "SAVEPOINT is refused"),
  rejected("XA START 'x'", "XA is refused"),
  rejected("SET autocommit = 0", "SET autocommit is refused", { rule: "unsafe_setting" }),
  rejected("SET @@global.max_statement_time = 1", "SET @@global is refused", { rule: "unsafe_setting" }),
  rejected("SET GLOBAL max_statement_time = 1", "SET GLOBAL is refused", { rule: "unsafe_setting" }),
  rejected("SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'", "changing sql_mode is refused", {
    rule: "unsafe_setting",
  }),
  rejected("SET NAMES gbk", "SET NAMES is refused"),
  rejected("SET @x = 1", "setting a user variable is refused", { rule: "unsafe_setting" }),
  rejected("SET max_statement_time = (SELECT SLEEP(1))", "a setting with a computed value is refused"),
  rejected("SET ROLE admin", "SET ROLE is refused"),
  rejected("SET PASSWORD = 'x'", "SET PASSWORD is refused"),
  rejected("GRANT ALL ON *.* TO 'u'@'%'", "GRANT is refused"),
  rejected("REVOKE ALL PRIVILEGES ON *.* FROM 'u'@'%'", "REVOKE is refused"),
  rejected("CREATE USER 'u'@'%' IDENTIFIED BY 'x'", "CREATE USER is refused"),
  rejected("DROP USER 'u'@'%'", "DROP USER is refused"),
  rejected("ALTER USER root IDENTIFIED BY 'x'", "ALTER USER is refused"),
  rejected("RENAME USER a TO b", "RENAME USER is refused"),
  rejected("CREATE DATABASE other", "CREATE DATABASE is refused"),
  rejected("DROP DATABASE test", "DROP DATABASE is refused"),
  rejected("CREATE FUNCTION f() RETURNS INT RETURN 1", "CREATE FUNCTION is refused"),
  rejected("CREATE PROCEDURE p() BEGIN DELETE FROM accounts; END", "CREATE PROCEDURE is refused"),
  rejected("DROP PROCEDURE p", "DROP PROCEDURE is refused"),
  rejected(
    "CREATE TRIGGER tr BEFORE INSERT ON accounts FOR EACH ROW SET NEW.balance = 0",
    "CREATE TRIGGER is refused",
  ),
  rejected("DROP TRIGGER tr", "DROP TRIGGER is refused"),
  rejected("CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO DELETE FROM accounts", "CREATE EVENT is refused"),
  rejected("CREATE DEFINER = root VIEW v AS SELECT 1", "a view with a DEFINER is refused"),
  rejected("LOAD DATA INFILE '/etc/passwd' INTO TABLE accounts", "LOAD DATA is refused", {
    rule: "server_file",
  }),
  rejected("LOAD DATA LOCAL INFILE 'x' INTO TABLE accounts", "LOAD DATA LOCAL is refused"),
  rejected("SELECT * FROM accounts INTO OUTFILE '/tmp/accounts.txt'", "SELECT … INTO OUTFILE is refused", {
    rule: "server_file",
  }),
  rejected("SELECT 'x' INTO DUMPFILE '/tmp/x'", "SELECT … INTO DUMPFILE is refused", { rule: "server_file" }),
  rejected("SELECT 1 /*!50000 , SLEEP(1) */", "an executable comment is refused", {
    rule: "executable_comment",
  }),
  rejected("/*!DELETE FROM accounts*/", "an executable comment on its own is refused"),
  rejected("SELECT 1 /*M!100000 , SLEEP(1) */", "a MariaDB executable comment is refused", {
    rule: "executable_comment",
  }),
  rejected("SELECT 1--1", "`--` without a space is refused", { rule: "ambiguous_text" }),
  rejected(
    "SELECT 'a\\''; DELETE FROM accounts; -- '",
    "a string whose end depends on NO_BACKSLASH_ESCAPES is refused",
    {
      rule: "ambiguous_text",
    },
  ),
  rejected(
    "SELECT 'a\\'; DELETE FROM accounts; -- ",
    "a text that only lexes without backslash escapes is refused",
    {
      rule: "ambiguous_text",
    },
  ),
  rejected('SELECT "a\\", SLEEP(5), \\""', "a string whose meaning depends on ANSI_QUOTES is refused", {
    rule: "ambiguous_text",
  }),
  rejected("SELECT 1; DELETE FROM accounts", "a read chained with a write is refused", {
    rule: "multiple_statements",
  }),
  rejected("SELECT 1; SELECT 2", "two reads are refused"),
  rejected("SELECT 1 # ;\n; DELETE FROM accounts", "a semicolon on the line after a # comment splits"),
  rejected("SELECT 1; SET max_statement_time = 5", "a setting after the statement is refused", {
    rule: "setting_after_statement",
  }),
  rejected("LOCK TABLES accounts WRITE", "LOCK TABLES is refused"),
  rejected("UNLOCK TABLES", "UNLOCK TABLES is refused"),
  rejected("USE mysql", "USE is refused"),
  rejected("FLUSH PRIVILEGES", "FLUSH is refused"),
  rejected("KILL 1", "KILL is refused"),
  rejected("INSTALL PLUGIN x SONAME 'x.so'", "INSTALL PLUGIN is refused"),
  rejected("SHUTDOWN", "SHUTDOWN is refused"),
  rejected("HANDLER accounts OPEN", "HANDLER is refused"),
  write("SELEC 1", "a misspelt keyword is a write that needs approval", {
    rule: "parse_error",
    unprovable: NOT_RUN,
  }),
  write("SELECT * FROM accounts WHERE", "an unfinished statement is a write that needs approval", {
    unprovable: NOT_RUN,
  }),
];

const sqlite = corpus("sqlite");
const DEMO = "SQLite is only the demo database";

export const SQLITE_CASES: readonly CorpusCase[] = [
  sqlite.read("SELECT * FROM accounts WHERE id = 1", "a plain select is a read"),
  sqlite.read("SELECT 'a\\' AS s", "a backslash is an ordinary character in SQLite strings"),
  sqlite.read("SELECT 1 --1", "-- always starts a comment in SQLite"),
  sqlite.write("SELECT load_extension('x')", "load_extension is not a read", { unprovable: DEMO }),
  sqlite.write("DELETE FROM accounts", "DELETE is a write", { unprovable: DEMO, rule: "no_where_delete" }),
  sqlite.ddl("DROP TABLE accounts", "DROP TABLE is DDL", { unprovable: DEMO, rule: "drop_table" }),
  sqlite.rejected("ATTACH DATABASE 'x' AS y", "ATTACH is refused"),
  sqlite.rejected("PRAGMA writable_schema = 1", "PRAGMA is refused"),
  sqlite.rejected("VACUUM INTO '/tmp/x'", "VACUUM INTO is refused"),
  sqlite.rejected("BEGIN", "BEGIN is refused"),
  sqlite.rejected("SELECT 1; DELETE FROM accounts", "a read chained with a write is refused"),
];
