#!/bin/sh
# Runs once, when the example target's data volume is first initialised (docker-entrypoint-initdb.d):
# creates the agents' least-privilege users in database `shop`, schema `public`.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v db="$POSTGRES_DB" -v schema=public \
  -v reader=dbward_reader -v reader_password="$SHOP_READER_PASSWORD" \
  -v migrator=dbward_migrator -v migrator_password="$SHOP_MIGRATOR_PASSWORD" \
  -f /dbward/postgres-agent-users.sql
