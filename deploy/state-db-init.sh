#!/bin/sh
# Runs once, when state-db's data volume is first initialised (docker-entrypoint-initdb.d):
# creates the role the bots log in as and the database it owns. Not a superuser: the bots need
# their own tables, advisory locks and LISTEN/NOTIFY, nothing more.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v password="$DBWARD_STATE_PASSWORD" <<'SQL'
CREATE ROLE dbward LOGIN PASSWORD :'password';
CREATE DATABASE dbward OWNER dbward;
REVOKE ALL ON DATABASE dbward FROM PUBLIC;
SQL
