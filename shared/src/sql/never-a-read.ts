/**
 * Functions that are never a read, whatever a catalogue says about their volatility: their effect
 * escapes the statement's transaction or its session (a lock that outlives it, a signal to
 * another backend, a file, a notification, a configuration reload), or they run SQL given to
 * them as text, which the reviewer never sees. A READ ONLY transaction stops none of these.
 *
 * The allowlists (`postgres-allowlist.ts`, `mysql-allowlist.ts`) already leave every one of them
 * out, so they are not needed to keep a statement from being a read; this table says *why* in
 * words an approver understands, and keeps them out of reach of configuration: a function in a
 * category here can never be declared trusted, in any schema, and the allowlist tests fail if
 * one of them is ever listed.
 *
 * Matching is on the last name part, lower-cased, so `pg_catalog.pg_sleep`, `"pg_sleep"` and
 * `PG_SLEEP` all match, and a function of the same name in another schema too (the safe
 * direction). Prefixes cover families (`pg_advisory_…`, `lo_…`) and extension functions that
 * share them (`dblink_exec`).
 */
import type { SqlDialect } from "./review.ts";

export const NEVER_A_READ_CATEGORIES = [
  "runs_sql_text",
  "advisory_lock",
  "notification",
  "sleep",
  "signals_backend",
  "server_files",
  "large_objects",
  "configuration",
  "wal",
  "replication",
  "statistics_reset",
  "logical_message",
  "index_maintenance",
  "replication_wait",
  "named_lock",
  "server_state",
  "session_state",
  "sequence",
  "transaction_id",
  "remote_server",
] as const;
/** Why a function is never a read. */
export type NeverAReadCategory = (typeof NEVER_A_READ_CATEGORIES)[number];

/** What each category does, completing "calls f(), which …". */
export const NEVER_A_READ_TEXT: Readonly<Record<NeverAReadCategory, string>> = {
  runs_sql_text: "runs SQL given to it as text, which the review never sees",
  advisory_lock: "takes or releases an advisory lock that outlives the statement",
  notification: "sends a notification to other sessions",
  sleep: "sleeps, holding its connection and any locks it has",
  signals_backend: "signals other database sessions (cancel, terminate, log)",
  server_files: "reads or writes files on the database server",
  large_objects: "reads or writes large objects, which live outside the table rows",
  configuration: "changes or reloads the server's or the session's configuration",
  wal: "acts on the write-ahead log or on backups",
  replication: "acts on replication slots or origins",
  statistics_reset: "resets or flushes statistics that other sessions see",
  logical_message: "writes a message into the write-ahead log for logical decoding",
  index_maintenance: "rewrites index pages, which a read-only transaction does not stop",
  replication_wait: "waits for replication or a GTID position, holding its connection",
  named_lock: "takes or releases a named server lock that outlives the statement",
  server_state: "changes the state of the server or one of its components",
  session_state: "changes state that outlives the statement in this session",
  sequence: "advances or sets a sequence, which no rollback undoes",
  transaction_id: "assigns a transaction id, a write to the commit log",
  remote_server: "connects to another server",
};

interface CategoryNames {
  readonly exact?: readonly string[];
  readonly prefixes?: readonly string[];
}

type DialectTable = Readonly<Partial<Record<NeverAReadCategory, CategoryNames>>>;

const POSTGRES: DialectTable = {
  runs_sql_text: {
    exact: [
      "query_to_xml",
      "query_to_xmlschema",
      "query_to_xml_and_xmlschema",
      "cursor_to_xml",
      "cursor_to_xmlschema",
      "ts_stat",
      "ts_rewrite",
      // tablefunc, xml2, pg_background: each takes a query string
      "crosstab",
      "crosstab2",
      "crosstab3",
      "crosstab4",
      "connectby",
      "xpath_table",
      // pg_cron: schedules SQL text to run later, in another session
      "schedule_in_database",
    ],
    prefixes: ["pg_background_"],
  },
  advisory_lock: { prefixes: ["pg_advisory_", "pg_try_advisory_"] },
  notification: { exact: ["pg_notify"] },
  sleep: { exact: ["pg_sleep", "pg_sleep_for", "pg_sleep_until"] },
  signals_backend: {
    exact: ["pg_terminate_backend", "pg_cancel_backend", "pg_log_backend_memory_contexts"],
  },
  server_files: {
    exact: [
      "pg_read_file",
      "pg_read_file_old",
      "pg_read_binary_file",
      "pg_stat_file",
      "pg_current_logfile",
      "pg_hba_file_rules",
      "pg_ident_file_mappings",
      "pg_show_all_file_settings",
      "pg_logdir_ls",
      // xml2: a stylesheet may load documents from files or URLs
      "xslt_process",
    ],
    prefixes: ["pg_ls_", "pg_file_"],
  },
  large_objects: { exact: ["lowrite", "loread"], prefixes: ["lo_"] },
  configuration: {
    exact: ["set_config", "pg_reload_conf", "pg_rotate_logfile", "pg_rotate_logfile_old"],
  },
  wal: {
    exact: [
      "pg_switch_wal",
      "pg_create_restore_point",
      "pg_backup_start",
      "pg_backup_stop",
      "pg_start_backup",
      "pg_stop_backup",
      "pg_promote",
      "pg_log_standby_snapshot",
      "pg_switch_xlog",
    ],
    prefixes: ["pg_wal_replay_", "pg_xlog_replay_"],
  },
  replication: {
    exact: ["pg_drop_replication_slot", "pg_replication_slot_advance", "pg_sync_replication_slots"],
    prefixes: ["pg_create_", "pg_copy_", "pg_replication_origin_", "pg_logical_slot_"],
  },
  statistics_reset: {
    exact: ["pg_stat_clear_snapshot", "pg_stat_force_next_flush"],
    // pg_restore_*_stats and pg_clear_*_stats (PostgreSQL 18) overwrite the planner's statistics
    prefixes: ["pg_stat_reset", "pg_stat_statements_reset", "pg_restore_", "pg_clear_"],
  },
  logical_message: { exact: ["pg_logical_emit_message"] },
  index_maintenance: {
    exact: [
      "gin_clean_pending_list",
      "brin_summarize_new_values",
      "brin_summarize_range",
      "brin_desummarize_range",
    ],
  },
  server_state: {
    exact: [
      "pg_import_system_collations",
      "pg_extension_config_dump",
      "pg_truncate_visibility_map",
      "pg_nextoid",
      "pg_stop_making_pinned_objects",
      "pg_prewarm",
      // pg_prewarm's worker and dump file; pg_surgery rewrites heap tuples in place
      "autoprewarm_start_worker",
      "autoprewarm_dump_now",
      "heap_force_kill",
      "heap_force_freeze",
    ],
    prefixes: ["binary_upgrade_", "pg_buffercache_evict"],
  },
  // pg_trgm's set_limit sets the session's similarity threshold
  session_state: { exact: ["setseed", "pg_export_snapshot", "set_limit"] },
  sequence: { exact: ["nextval", "setval"] },
  transaction_id: { exact: ["txid_current", "pg_current_xact_id"] },
  remote_server: { prefixes: ["dblink", "postgres_fdw_"] },
};

const MYSQL: DialectTable = {
  sleep: { exact: ["sleep", "benchmark"] },
  named_lock: { exact: ["get_lock", "release_lock", "release_all_locks"] },
  // DES_ENCRYPT/DES_DECRYPT use keys read from the server's --des-key-file; BINLOG_GTID_POS
  // reads the binary log files.
  server_files: { exact: ["load_file", "des_encrypt", "des_decrypt", "binlog_gtid_pos"] },
  replication_wait: {
    exact: [
      "master_pos_wait",
      "source_pos_wait",
      "master_gtid_wait",
      "wait_for_executed_gtid_set",
      "wait_until_sql_thread_after_gtids",
      "wsrep_sync_wait_upto_gtid",
    ],
  },
  sequence: { exact: ["nextval", "setval"] },
  server_state: {
    // MySQL 8 components and keyring UDFs that change server state
    exact: [
      "sys_exec",
      "sys_eval",
      "audit_log_filter_set_filter",
      "audit_log_filter_remove_filter",
      "audit_log_filter_set_user",
      "audit_log_filter_remove_user",
      "audit_log_filter_flush",
      "audit_log_encryption_password_set",
      "audit_log_rotate",
      "audit_log_read",
      "audit_log_read_bookmark",
      "version_tokens_set",
      "version_tokens_edit",
      "version_tokens_delete",
      "version_tokens_lock_shared",
      "version_tokens_lock_exclusive",
      "version_tokens_unlock",
      "service_get_read_locks",
      "service_get_write_locks",
      "service_release_locks",
      "group_replication_set_as_primary",
      "group_replication_switch_to_single_primary_mode",
      "group_replication_switch_to_multi_primary_mode",
      "group_replication_set_write_concurrency",
      "group_replication_set_communication_protocol",
      "group_replication_enable_member_action",
      "group_replication_disable_member_action",
      "group_replication_reset_member_actions",
      "asynchronous_connection_failover_add_source",
      "asynchronous_connection_failover_delete_source",
      "asynchronous_connection_failover_add_managed",
      "asynchronous_connection_failover_delete_managed",
      "asynchronous_connection_failover_reset",
      "mysql_firewall_flush_status",
      "set_firewall_mode",
      "firewall_group_enlist",
      "firewall_group_delist",
      "mysql_query_attribute_string",
      "load_rewrite_rules",
      "flush_rewrite_rules",
      "audit_api_message_emit_udf",
      "set_firewall_group_mode",
    ],
    prefixes: [
      "keyring_key_",
      "keyring_aws_",
      "mysql_firewall_",
      "firewall_",
      "data_masking_",
      "masking_dictionary_",
      "gen_dictionary_",
      "audit_log_",
      "version_tokens_",
      "read_firewall_",
      "gen_blacklist",
      "gen_blocklist",
    ],
  },
};

const SQLITE: DialectTable = {
  server_files: { exact: ["load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"] },
};

const TABLES: Readonly<Record<SqlDialect, DialectTable>> = {
  postgres: POSTGRES,
  mysql: MYSQL,
  sqlite: SQLITE,
};

/**
 * Functions that read without arguments and set session state with them: MySQL's
 * `LAST_INSERT_ID()` answers the last id, `LAST_INSERT_ID(x)` sets it.
 */
const STATE_WITH_ARGUMENTS: Readonly<Record<SqlDialect, readonly string[]>> = {
  postgres: [],
  mysql: ["last_insert_id"],
  sqlite: [],
};

/**
 * The category that makes a call of `name` (any case, qualified or not) with `argumentCount`
 * arguments never a read in `dialect`.
 */
export function neverAReadCategory(
  dialect: SqlDialect,
  name: string,
  argumentCount = 0,
): NeverAReadCategory | undefined {
  const lower = lastNamePart(name).toLowerCase();
  if (argumentCount > 0 && STATE_WITH_ARGUMENTS[dialect].includes(lower)) return "session_state";
  const lookup = LOOKUPS[dialect];
  const exact = lookup.exact.get(lower);
  if (exact !== undefined) return exact;
  for (const [prefix, category] of lookup.prefixes) if (lower.startsWith(prefix)) return category;
  return undefined;
}

interface Lookup {
  readonly exact: ReadonlyMap<string, NeverAReadCategory>;
  readonly prefixes: readonly (readonly [string, NeverAReadCategory])[];
}

/** Each table flattened once: every call of a reviewed query asks. The first category wins. */
function lookupFor(table: DialectTable): Lookup {
  const exact = new Map<string, NeverAReadCategory>();
  const prefixes: [string, NeverAReadCategory][] = [];
  for (const category of NEVER_A_READ_CATEGORIES) {
    for (const name of table[category]?.exact ?? []) if (!exact.has(name)) exact.set(name, category);
    for (const prefix of table[category]?.prefixes ?? []) prefixes.push([prefix, category]);
  }
  return { exact, prefixes };
}

const LOOKUPS: Readonly<Record<SqlDialect, Lookup>> = {
  postgres: lookupFor(TABLES.postgres),
  mysql: lookupFor(TABLES.mysql),
  sqlite: lookupFor(TABLES.sqlite),
};

/** Whether `name` matches one of the configured extra side-effect names (last part, any case). */
export function isConfiguredSideEffect(name: string, extra: readonly string[]): boolean {
  const lower = lastNamePart(name).toLowerCase();
  return extra.some((candidate) => lastNamePart(candidate).toLowerCase() === lower);
}

/** `pg_catalog.pg_sleep` → `pg_sleep`. */
export function lastNamePart(qualified: string): string {
  const dot = qualified.lastIndexOf(".");
  return dot < 0 ? qualified : qualified.slice(dot + 1);
}
