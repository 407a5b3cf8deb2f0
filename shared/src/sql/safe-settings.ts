/**
 * Session settings a text may change before its one statement. The lists are allowlists: a
 * setting is safe when it can only bound or tune the statement (timeouts, memory, planner knobs,
 * output format). Left out on purpose: anything that changes who runs the SQL (role, session
 * authorization), how names resolve (search_path), how the text itself is read
 * (standard_conforming_strings, client_encoding, sql_mode, NAMES), whether triggers fire
 * (session_replication_role) or what is logged.
 */
import type { SqlDialect } from "./review.ts";

const POSTGRES = new Set([
  "statement_timeout",
  "lock_timeout",
  "idle_in_transaction_session_timeout",
  "transaction_timeout",
  "work_mem",
  "maintenance_work_mem",
  "hash_mem_multiplier",
  "temp_buffers",
  "timezone",
  "datestyle",
  "intervalstyle",
  "extra_float_digits",
  "bytea_output",
  "application_name",
  "client_min_messages",
  "random_page_cost",
  "seq_page_cost",
  "effective_cache_size",
  "effective_io_concurrency",
  "jit",
  "max_parallel_workers_per_gather",
  "max_parallel_maintenance_workers",
  "parallel_setup_cost",
  "parallel_tuple_cost",
  "default_statistics_target",
  "from_collapse_limit",
  "join_collapse_limit",
  "plan_cache_mode",
]);
const POSTGRES_PREFIXES = ["enable_", "cpu_"];

const MYSQL = new Set([
  "max_execution_time",
  "max_statement_time",
  "lock_wait_timeout",
  "innodb_lock_wait_timeout",
  "time_zone",
  "sort_buffer_size",
  "join_buffer_size",
  "tmp_table_size",
  "max_heap_table_size",
  "group_concat_max_len",
  "div_precision_increment",
  "net_read_timeout",
  "net_write_timeout",
  "optimizer_search_depth",
  "sql_select_limit",
]);

/** Whether `name` (any case) may be set for the session in `dialect`. */
export function isSafeSetting(dialect: SqlDialect, name: string): boolean {
  const lower = name.toLowerCase();
  switch (dialect) {
    case "postgres":
      return POSTGRES.has(lower) || POSTGRES_PREFIXES.some((prefix) => lower.startsWith(prefix));
    case "mysql":
      return MYSQL.has(lower);
    case "sqlite":
      return false;
  }
}
