/** PostgreSQL texts dbward refuses, and texts the parser cannot read. */
import { corpus, type CorpusCase } from "./corpus-case.ts";

const { write, ddl, rejected } = corpus("postgres");
const NOT_RUN = "the parser cannot read it, and neither can the server";

export const POSTGRES_REFUSALS: readonly CorpusCase[] = [
  rejected("BEGIN", "BEGIN is refused", { rule: "rejected_statement" }),
  rejected("COMMIT", "COMMIT is refused"),
  rejected("ROLLBACK", "ROLLBACK is refused"),
  rejected("START TRANSACTION READ WRITE", "START TRANSACTION is refused"),
  rejected("SAVEPOINT s1", "SAVEPOINT is refused"),
  rejected("SET ROLE postgres", "SET ROLE is refused", { rule: "unsafe_setting" }),
  rejected("SET SESSION AUTHORIZATION postgres", "SET SESSION AUTHORIZATION is refused", {
    rule: "unsafe_setting",
  }),
  rejected("RESET ROLE", "RESET ROLE is refused"),
  rejected("SET search_path = public", "changing search_path is refused", { rule: "unsafe_setting" }),
  rejected("SET LOCAL search_path TO evil, public", "SET LOCAL search_path is refused"),
  rejected("SET standard_conforming_strings = off", "changing how strings are read is refused"),
  rejected("SET session_replication_role = replica", "switching off triggers through a setting is refused"),
  rejected("RESET ALL", "RESET ALL is refused"),
  rejected("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", "SET TRANSACTION is refused"),
  rejected("GRANT SELECT ON accounts TO PUBLIC", "GRANT is refused"),
  rejected("REVOKE ALL ON accounts FROM PUBLIC", "REVOKE is refused"),
  rejected("GRANT pg_read_server_files TO CURRENT_USER", "granting a role is refused"),
  rejected("CREATE ROLE intruder LOGIN PASSWORD 'x'", "CREATE ROLE is refused"),
  rejected("CREATE USER intruder", "CREATE USER is refused"),
  rejected("ALTER ROLE postgres NOSUPERUSER", "ALTER ROLE is refused"),
  rejected("DROP ROLE intruder", "DROP ROLE is refused"),
  rejected("CREATE DATABASE other", "CREATE DATABASE is refused"),
  rejected("DROP DATABASE other", "DROP DATABASE is refused"),
  rejected("ALTER DATABASE test SET work_mem = '1GB'", "ALTER DATABASE is refused"),
  rejected("CREATE SCHEMA evil", "CREATE SCHEMA is refused"),
  rejected("DROP SCHEMA public CASCADE", "DROP SCHEMA is refused"),
  rejected("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$", "CREATE FUNCTION is refused"),
  rejected(
    "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql AS $$ DELETE FROM accounts $$",
    "CREATE PROCEDURE is refused",
  ),
  rejected("DROP FUNCTION f()", "DROP FUNCTION is refused"),
  rejected(
    "CREATE TRIGGER t BEFORE INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION f()",
    "CREATE TRIGGER is refused",
  ),
  rejected("DROP TRIGGER t ON accounts", "DROP TRIGGER is refused"),
  rejected("CREATE EXTENSION dblink", "CREATE EXTENSION is refused"),
  rejected("DROP EXTENSION dblink", "DROP EXTENSION is refused"),
  rejected("ALTER SYSTEM SET work_mem = '1GB'", "ALTER SYSTEM is refused"),
  rejected("COPY accounts TO PROGRAM 'curl http://example.com'", "COPY … PROGRAM is refused", {
    rule: "server_file",
  }),
  rejected("COPY accounts FROM '/etc/passwd'", "COPY from a server file is refused", { rule: "server_file" }),
  rejected("COPY (SELECT 1) TO '/tmp/out'", "COPY to a server file is refused", { rule: "server_file" }),
  rejected("LOAD 'auto_explain'", "LOAD is refused"),
  rejected("ALTER TABLE accounts OWNER TO intruder", "changing a table's owner is refused"),
  rejected("ALTER TABLE accounts DISABLE TRIGGER ALL", "disabling triggers is refused"),
  rejected("ALTER TABLE accounts DISABLE ROW LEVEL SECURITY", "disabling row security is refused"),
  rejected("CREATE POLICY p ON accounts USING (true)", "CREATE POLICY is refused"),
  rejected("CREATE RULE r AS ON INSERT TO accounts DO INSTEAD NOTHING", "CREATE RULE is refused"),
  rejected("DISCARD ALL", "DISCARD is refused"),
  rejected("CHECKPOINT", "CHECKPOINT is refused"),
  rejected("LISTEN accounts_chan", "LISTEN is refused"),
  rejected(
    "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC",
    "ALTER DEFAULT PRIVILEGES is refused",
  ),
  rejected("REASSIGN OWNED BY intruder TO postgres", "REASSIGN OWNED is refused"),
  rejected("CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw", "CREATE SERVER is refused"),
  rejected("SELECT 1; DELETE FROM accounts", "a read chained with a write is refused", {
    rule: "multiple_statements",
  }),
  rejected("SELECT 1; SELECT 2", "two reads are refused"),
  rejected("SELECT 1 /* ; */; UPDATE accounts SET balance = 0", "a real semicolon after a comment splits"),
  rejected("SELECT $$;$$; DROP TABLE accounts", "a real semicolon after a dollar quote splits"),
  rejected("SELECT 1 -- comment\n; DELETE FROM accounts", "a semicolon on the line after a comment splits"),
  rejected("SELECT 1; SET statement_timeout = '1s'", "a setting after the statement is refused", {
    rule: "setting_after_statement",
  }),
  rejected("SET statement_timeout = '1s'", "settings alone are refused", { rule: "settings_only" }),
  rejected("UPDATE accounts SET balance = 0 WHERE id = 1; COMMIT", "a write followed by COMMIT is refused"),
  rejected(
    "SELECT 'a\\''; DROP TABLE accounts; --'",
    "a string whose end depends on standard_conforming_strings is refused",
    {
      rule: "ambiguous_text",
    },
  ),
  rejected(
    "SELECT 'a\\''; DELETE FROM accounts; --",
    "an unreadable text whose backslash could end a string is refused",
    {
      rule: "ambiguous_text",
    },
  ),
  rejected("/* only a comment */", "a text of comments only is refused", { rule: "empty_sql" }),
  write("SELEC * FROM accounts", "a misspelt keyword is a write that needs approval", {
    rule: "parse_error",
    unprovable: NOT_RUN,
  }),
  write("SELECT * FROM accounts WHERE", "an unfinished statement is a write that needs approval", {
    unprovable: NOT_RUN,
  }),
  ddl("DROP TABLE accounts ledger", "an unreadable DROP TABLE is DDL and still trips drop_table", {
    rule: "drop_table",
    unprovable: NOT_RUN,
  }),
  write("DELETE accounts", "an unreadable DELETE without WHERE still trips no_where_delete", {
    rule: "no_where_delete",
    unprovable: NOT_RUN,
  }),
  rejected("BEGIN TRANSACTION nonsense here", "an unreadable BEGIN is still refused"),
];
