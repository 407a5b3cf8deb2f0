-- Least-privilege database users for the dbward agents on PostgreSQL (SECURITY.md: never a
-- superuser). Two users, one per agent:
--   reader    LOGIN; CONNECT on the database, USAGE on one schema, SELECT on its tables — those
--             there now and those created later — and every transaction read-only by default.
--   migrator  LOGIN; CONNECT, USAGE and CREATE on the same schema, DML on its tables and
--             sequences now and later. DDL works on tables it creates or owns.
-- Neither is SUPERUSER, CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS.
--
-- Run with psql, as a superuser or the schema's owner (the migrator's default privileges need a
-- superuser or a member of the migrator role); psql fills in the variables:
--   psql -v ON_ERROR_STOP=1 -d shop -v db=shop -v schema=public \
--     -v reader=dbward_reader -v reader_password="$READER_PASSWORD" \
--     -v migrator=dbward_migrator -v migrator_password="$MIGRATOR_PASSWORD" \
--     -f deploy/sql/postgres-agent-users.sql
-- Running it again re-applies the attributes, passwords and grants. A password in a statement
-- can reach the server log when log_statement is 'all' or 'ddl'; check that first, or set the
-- passwords afterwards with psql's \password.
\set ON_ERROR_STOP on

SELECT format('CREATE ROLE %I LOGIN', :'reader')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'reader') \gexec
SELECT format('CREATE ROLE %I LOGIN', :'migrator')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'migrator') \gexec

ALTER ROLE :"reader" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  CONNECTION LIMIT 20 PASSWORD :'reader_password';
ALTER ROLE :"migrator" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  CONNECTION LIMIT 5 PASSWORD :'migrator_password';

-- Defence in depth: the agent already runs reads in READ ONLY transactions.
ALTER ROLE :"reader" SET default_transaction_read_only = on;

GRANT CONNECT ON DATABASE :"db" TO :"reader", :"migrator";

GRANT USAGE ON SCHEMA :"schema" TO :"reader";
GRANT SELECT ON ALL TABLES IN SCHEMA :"schema" TO :"reader";

GRANT USAGE, CREATE ON SCHEMA :"schema" TO :"migrator";
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER
  ON ALL TABLES IN SCHEMA :"schema" TO :"migrator";
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA :"schema" TO :"migrator";

-- Tables created later by the role running this script (the schema's owner, say) ...
ALTER DEFAULT PRIVILEGES IN SCHEMA :"schema" GRANT SELECT ON TABLES TO :"reader";
ALTER DEFAULT PRIVILEGES IN SCHEMA :"schema"
  GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLES TO :"migrator";
ALTER DEFAULT PRIVILEGES IN SCHEMA :"schema" GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO :"migrator";
-- ... and by the migrator, through dbward: the reader can read what a migration creates.
ALTER DEFAULT PRIVILEGES FOR ROLE :"migrator" IN SCHEMA :"schema" GRANT SELECT ON TABLES TO :"reader";
