-- Least-privilege database users for the dbward agents on MySQL 8 and MariaDB 10.5+
-- (SECURITY.md: never a superuser). Two users, one per agent, each limited to one database:
--   reader    SELECT and SHOW VIEW. A database-level grant covers tables created later too.
--   migrator  DML and DDL (SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, DROP, INDEX, REFERENCES,
--             CREATE VIEW, SHOW VIEW, TRIGGER). No global privilege: no FILE, SUPER, PROCESS,
--             CREATE USER, GRANT OPTION, and nothing on other databases.
-- Any privilege either user held before is revoked first, so a second run leaves exactly these.
--
-- Set the variables, then source this file, as an account that may create users and grant on the
-- database (root, or an admin with CREATE USER and GRANT OPTION on it):
--   mysql -u root -p -e "SET @db='shop', @host='%', \
--     @reader='dbward_reader', @reader_password='…', \
--     @migrator='dbward_migrator', @migrator_password='…'; SOURCE deploy/sql/mysql-agent-users.sql;"
-- Narrow @host to the agents' network (for example '10.20.%') when you can.
-- The statements are built with QUOTE() and a backquoted name, then prepared, because GRANT
-- and CREATE USER take no parameters.

SET @dbward_db = CONCAT('`', REPLACE(@db, '`', '``'), '`');
SET @dbward_reader = CONCAT(QUOTE(@reader), '@', QUOTE(@host));
SET @dbward_migrator = CONCAT(QUOTE(@migrator), '@', QUOTE(@host));

SET @q = CONCAT('CREATE USER IF NOT EXISTS ', @dbward_reader, ' IDENTIFIED BY ', QUOTE(@reader_password));
PREPARE s FROM @q; EXECUTE s; DEALLOCATE PREPARE s;
SET @q = CONCAT('ALTER USER ', @dbward_reader, ' IDENTIFIED BY ', QUOTE(@reader_password));
PREPARE s FROM @q; EXECUTE s; DEALLOCATE PREPARE s;
SET @q = CONCAT('REVOKE ALL PRIVILEGES, GRANT OPTION FROM ', @dbward_reader);
PREPARE s FROM @q; EXECUTE s; DEALLOCATE PREPARE s;
SET @q = CONCAT('GRANT SELECT, SHOW VIEW ON ', @dbward_db, '.* TO ', @dbward_reader);
PREPARE s FROM @q; EXECUTE s; DEALLOCATE PREPARE s;

SET @q = CONCAT('CREATE USER IF NOT EXISTS ', @dbward_migrator, ' IDENTIFIED BY ', QUOTE(@migrator_password));
PREPARE s FROM @q; EXECUTE s; DEALLOCATE PREPARE s;
SET @q = CONCAT('ALTER USER ', @dbward_migrator, ' IDENTIFIED BY ', QUOTE(@migrator_password));
PREPARE s FROM @q; EXECUTE s; DEALLOCATE PREPARE s;
SET @q = CONCAT('REVOKE ALL PRIVILEGES, GRANT OPTION FROM ', @dbward_migrator);
PREPARE s FROM @q; EXECUTE s; DEALLOCATE PREPARE s;
SET @q = CONCAT(
  'GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, DROP, INDEX, REFERENCES, CREATE VIEW, SHOW VIEW, TRIGGER ON ',
  @dbward_db, '.* TO ', @dbward_migrator);
PREPARE s FROM @q; EXECUTE s; DEALLOCATE PREPARE s;

SET @q = NULL, @dbward_db = NULL, @dbward_reader = NULL, @dbward_migrator = NULL,
  @reader_password = NULL, @migrator_password = NULL;
