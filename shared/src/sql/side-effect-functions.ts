/**
 * Built-in functions whose call makes a SELECT something other than a read: they sleep, take
 * locks, signal other sessions, touch server files, change session state, advance sequences,
 * assign transaction ids, talk to other servers or run SQL text the reviewer never sees.
 *
 * Matching is on the last name part, lower-cased, so `pg_catalog.pg_sleep`, `"pg_sleep"` and
 * `PG_SLEEP` all match; a user function that shares a name is treated the same way (the safe
 * direction). The database's own volatile functions are unknown here: operators list them in
 * `SqlReviewOptions.sideEffectFunctions`, and reads should run as a read-only user in a read-only
 * transaction as a second line of defence.
 */
import type { SqlDialect } from "./review.ts";

interface FunctionList {
  readonly exact: ReadonlySet<string>;
  readonly prefixes: readonly string[];
  /** Functions that are reads without arguments and set state with one (MySQL LAST_INSERT_ID(x)). */
  readonly withArguments: ReadonlySet<string>;
}

const POSTGRES: FunctionList = {
  exact: new Set([
    // sleeping holds a connection and any locks already taken
    "pg_sleep",
    "pg_sleep_for",
    "pg_sleep_until",
    // other sessions and the server
    "pg_terminate_backend",
    "pg_cancel_backend",
    "pg_reload_conf",
    "pg_rotate_logfile",
    "pg_log_backend_memory_contexts",
    "pg_promote",
    "pg_switch_wal",
    "pg_backup_start",
    "pg_backup_stop",
    "pg_start_backup",
    "pg_stop_backup",
    "pg_import_system_collations",
    "pg_extension_config_dump",
    "pg_truncate_visibility_map",
    "pg_stat_statements_reset",
    "pg_drop_replication_slot",
    "pg_replication_slot_advance",
    // server files (adminpack included)
    "pg_read_file",
    "pg_read_binary_file",
    "pg_stat_file",
    "pg_file_write",
    "pg_file_rename",
    "pg_file_unlink",
    "pg_file_sync",
    "pg_logdir_ls",
    // session state, sequences, notifications
    "set_config",
    "setseed",
    "nextval",
    "setval",
    "pg_notify",
    // these assign a transaction id (a write to the commit log) when none is assigned yet
    "txid_current",
    "pg_current_xact_id",
    // large objects without the lo_ prefix
    "lowrite",
    "loread",
    // run a query given as text, which the reviewer cannot see
    "query_to_xml",
    "query_to_xmlschema",
    "query_to_xml_and_xmlschema",
    "cursor_to_xml",
    "cursor_to_xmlschema",
  ]),
  prefixes: [
    "pg_advisory_",
    "pg_try_advisory_",
    "pg_ls_",
    "lo_",
    "dblink",
    "pg_stat_reset",
    "pg_create_",
    "pg_copy_",
    "pg_logical_",
    "pg_replication_origin_",
    "pg_wal_replay_",
    "binary_upgrade_",
  ],
  withArguments: new Set(),
};

const MYSQL: FunctionList = {
  exact: new Set([
    "sleep",
    "benchmark",
    "get_lock",
    "release_lock",
    "release_all_locks",
    "load_file",
    "master_pos_wait",
    "source_pos_wait",
    "master_gtid_wait",
    "wait_for_executed_gtid_set",
    "wait_until_sql_thread_after_gtids",
    // MariaDB sequences
    "nextval",
    "setval",
    // lib_mysqludf_sys, a well-known route from SQL to a shell
    "sys_exec",
    "sys_eval",
  ]),
  prefixes: [],
  withArguments: new Set(["last_insert_id"]),
};

const SQLITE: FunctionList = {
  exact: new Set(["load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"]),
  prefixes: [],
  withArguments: new Set(),
};

const LISTS: Readonly<Record<SqlDialect, FunctionList>> = {
  postgres: POSTGRES,
  mysql: MYSQL,
  sqlite: SQLITE,
};

/**
 * Whether calling `name` (last name part; any case) is a side effect in `dialect`. `extra` holds
 * names from the configuration, compared on their last part too.
 */
export function isSideEffectFunction(
  dialect: SqlDialect,
  name: string,
  argumentCount: number,
  extra: readonly string[] = [],
): boolean {
  const lower = name.toLowerCase();
  const list = LISTS[dialect];
  if (list.exact.has(lower)) return true;
  if (list.prefixes.some((prefix) => lower.startsWith(prefix))) return true;
  if (argumentCount > 0 && list.withArguments.has(lower)) return true;
  return extra.some((candidate) => lastNamePart(candidate).toLowerCase() === lower);
}

function lastNamePart(qualified: string): string {
  const dot = qualified.lastIndexOf(".");
  return dot < 0 ? qualified : qualified.slice(dot + 1);
}
