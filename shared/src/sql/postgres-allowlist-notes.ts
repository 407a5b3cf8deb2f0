/**
 * The hand review behind the PostgreSQL allowlist (`postgres-allowlist-data.ts`, generated from
 * the server's own catalogue by `scripts/sql-allowlist/postgres.ts`). Volatility is a hint, not
 * the rule: `random()` is volatile and harmless, a stable function that runs SQL text is not.
 *
 * - `VOLATILE_ALLOWED`: volatile built-ins that are nevertheless reads, each with the reason.
 *   The allowlist test on the real server fails on a listed volatile function without one.
 * - `EXCLUDED`: stable or immutable built-ins left out although the catalogue would let them in,
 *   each with the reason. Never-a-read functions (`never-a-read.ts`) are left out by the
 *   generator without a note here; internal-only functions (type I/O taking `internal`,
 *   trigger and handler functions) are left out by their signature.
 *
 * - `SINCE`: the PostgreSQL major version that first has a function named here, for those newer
 *   than the oldest supported server (15); the catalogue test does not look for them on older ones.
 *
 * A name is listed only when every overload of it in `pg_catalog` is acceptable: the review sees
 * a name, not the overload the server will pick.
 */

export const VOLATILE_ALLOWED: Readonly<Record<string, string>> = {
  random: "a pseudo-random number; changes nothing another session can see",
  random_normal: "a pseudo-random number (PostgreSQL 16+); changes nothing another session can see",
  gen_random_uuid: "a random UUID; changes nothing",
  clock_timestamp: "reads the clock",
  timeofday: "reads the clock",
  currval: "reads this session's last value of a sequence without advancing it",
  lastval: "reads this session's last sequence value without advancing anything",
  current_query: "answers the text of the running query",
  pg_blocking_pids: "reads the lock table (pg_locks)",
  pg_safe_snapshot_blocking_pids: "reads the lock table",
  pg_lock_status: "the pg_locks view: reads the lock table",
  pg_isolation_test_session_is_blocked: "reads the lock table",
  pg_collation_actual_version: "asks the collation provider for a version string",
  pg_database_collation_actual_version: "asks the collation provider for a version string",
  pg_control_checkpoint: "reads pg_control status, as the pg_control_* views do",
  pg_control_init: "reads pg_control status",
  pg_control_recovery: "reads pg_control status",
  pg_control_system: "reads pg_control status",
  pg_current_wal_lsn: "reads the current WAL position; writes nothing",
  pg_current_wal_insert_lsn: "reads the current WAL position",
  pg_current_wal_flush_lsn: "reads the current WAL position",
  pg_last_wal_receive_lsn: "reads the standby's WAL position",
  pg_last_wal_replay_lsn: "reads the standby's WAL position",
  pg_last_xact_replay_timestamp: "reads the standby's replay time",
  pg_is_in_recovery: "answers whether the server is a standby",
  pg_is_wal_replay_paused: "answers whether replay is paused",
  pg_get_wal_replay_pause_state: "answers whether replay is paused",
  pg_get_wal_resource_managers: "lists the WAL resource managers",
  pg_database_size: "reads the size of a database's files",
  pg_tablespace_size: "reads the size of a tablespace's files",
  pg_relation_size: "reads the size of a relation's files",
  pg_table_size: "reads the size of a table's files",
  pg_indexes_size: "reads the size of a table's indexes",
  pg_total_relation_size: "reads the size of a relation with its indexes and TOAST",
  pg_partition_ancestors: "reads the partition tree from the catalogue",
  pg_partition_tree: "reads the partition tree from the catalogue",
  pg_sequence_last_value: "the pg_sequences view: reads a sequence without advancing it",
  pg_prepared_xact: "the pg_prepared_xacts view: lists prepared transactions",
  pg_show_replication_origin_status: "the pg_replication_origin_status view: lists each origin's progress",
  pg_notification_queue_usage: "reads how full the NOTIFY queue is",
  pg_jit_available: "answers whether JIT is available",
  pg_last_committed_xact: "reads the last committed transaction's id and time",
  pg_xact_commit_timestamp: "reads a transaction's commit time",
  pg_xact_commit_timestamp_origin: "reads a transaction's commit time and origin",
  pg_xact_status: "reads a transaction's status from the commit log",
  txid_status: "reads a transaction's status from the commit log",
  pg_get_multixact_members: "reads the members of a multixact",
  pg_get_backend_memory_contexts: "the pg_backend_memory_contexts view: this session's memory",
  pg_get_shmem_allocations: "the pg_shmem_allocations view: reads shared memory bookkeeping",
  pg_stat_get_recovery_prefetch: "reads recovery prefetch statistics",
  pg_stat_have_stats: "answers whether statistics exist for an object",
  pg_stat_get_xact_blocks_fetched: "reads this transaction's statistics",
  pg_stat_get_xact_blocks_hit: "reads this transaction's statistics",
  pg_stat_get_xact_function_calls: "reads this transaction's statistics",
  pg_stat_get_xact_function_self_time: "reads this transaction's statistics",
  pg_stat_get_xact_function_total_time: "reads this transaction's statistics",
  pg_stat_get_xact_numscans: "reads this transaction's statistics",
  pg_stat_get_xact_tuples_deleted: "reads this transaction's statistics",
  pg_stat_get_xact_tuples_fetched: "reads this transaction's statistics",
  pg_stat_get_xact_tuples_hot_updated: "reads this transaction's statistics",
  pg_stat_get_xact_tuples_inserted: "reads this transaction's statistics",
  pg_stat_get_xact_tuples_returned: "reads this transaction's statistics",
  pg_stat_get_xact_tuples_updated: "reads this transaction's statistics",
};

export const EXCLUDED: Readonly<Record<string, string>> = {
  json_populate_record:
    "coerces JSON into the columns of the row type it is given, which runs those columns' domain CHECKs (any function)",
  json_populate_recordset: "coerces into a row type's columns, running their domain CHECKs",
  jsonb_populate_record: "coerces into a row type's columns, running their domain CHECKs",
  jsonb_populate_recordset: "coerces into a row type's columns, running their domain CHECKs",
  table_to_xml: "runs a query on the named table inside the function; write the SELECT instead",
  table_to_xmlschema: "runs a query inside the function",
  table_to_xml_and_xmlschema: "runs a query inside the function",
  schema_to_xml: "runs a query on every table of a schema inside the function",
  schema_to_xmlschema: "runs queries inside the function",
  schema_to_xml_and_xmlschema: "runs queries inside the function",
  database_to_xml: "runs a query on every table of the database inside the function",
  database_to_xmlschema: "runs queries inside the function",
  database_to_xml_and_xmlschema: "runs queries inside the function",
  fmgr_c_validator: "a validator for CREATE FUNCTION, not for queries",
  fmgr_internal_validator: "a validator for CREATE FUNCTION, not for queries",
  fmgr_sql_validator: "a validator for CREATE FUNCTION: parses and checks another function's body",
  pg_event_trigger_ddl_commands: "only callable inside an event trigger",
  pg_event_trigger_dropped_objects: "only callable inside an event trigger",
  pg_event_trigger_table_rewrite_oid: "only callable inside an event trigger",
  pg_event_trigger_table_rewrite_reason: "only callable inside an event trigger",
  amvalidate: "validates an operator class; for extension authors, not queries",
  currtid2: "deprecated internal function",
  postgresql_fdw_validator: "a validator for CREATE SERVER options, not for queries",
  // A type named at run time by OID or by text, not in the statement: its input runs that type's
  // code, a domain's CHECK constraints included, which may call any function. (The generator
  // also leaves out every function taking or returning cstring.)
  domain_in: "runs the input of a type given by OID, a domain's CHECK constraints included",
  record_in: "runs the input of every column of a row type given by OID, domains included",
  array_in: "runs the input of an element type given by OID, a domain's CHECK constraints included",
  range_in: "runs the input of a range's subtype given by OID, a domain's CHECK constraints included",
  multirange_in: "runs the input of a range's subtype given by OID, a domain's CHECK constraints included",
  pg_input_is_valid: "runs the input of a type named in a string, a domain's CHECK constraints included",
  pg_input_error_info: "runs the input of a type named in a string, a domain's CHECK constraints included",
};

export const SINCE: Readonly<Record<string, number>> = {
  random_normal: 16,
  pg_input_is_valid: 16,
  pg_input_error_info: 16,
};
