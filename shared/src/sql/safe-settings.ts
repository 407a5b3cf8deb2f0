/**
 * Session settings a text may change before its one statement. The lists are allowlists: a
 * setting is safe when it can only bound or tune the statement (timeouts, memory, planner knobs,
 * output format). Left out on purpose: anything that changes who runs the SQL (role, session
 * authorization), how names resolve (search_path), how the text itself is read
 * (standard_conforming_strings, client_encoding, sql_mode, NAMES), whether triggers fire
 * (session_replication_role) or what is logged.
 */
import type { SettingCeilings, SqlDialect } from "./review.ts";

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

/** 256 MiB per memory setting, and PostgreSQL's hash_mem_multiplier at most 4 (its default is 2). */
export const DEFAULT_SETTING_CEILINGS: SettingCeilings = Object.freeze({
  memoryBytes: 256 * 1024 * 1024,
  hashMemMultiplier: 4,
  parallelWorkers: 4,
});

/** Settings that multiply a query's memory by the number of worker processes. */
const PG_PARALLEL = new Set(["max_parallel_workers_per_gather", "max_parallel_maintenance_workers"]);

/** The value a `SET` gives, as the parser saw it. */
export type SettingValue =
  | { readonly kind: "default" }
  | { readonly kind: "number"; readonly value: number }
  | { readonly kind: "string"; readonly value: string }
  /** Anything else: an expression, a list, a keyword. */
  | { readonly kind: "other" };

/**
 * PostgreSQL memory settings and the unit of a bare number for each (a number without a unit is
 * in these many bytes: kB for work_mem, 8 kB blocks for temp_buffers).
 */
const PG_MEMORY_UNIT: Readonly<Record<string, number>> = {
  work_mem: 1024,
  maintenance_work_mem: 1024,
  temp_buffers: 8192,
};
/** PostgreSQL's memory units, case-sensitive as the server reads them. */
const PG_UNITS: Readonly<Record<string, number>> = {
  B: 1,
  kB: 1024,
  MB: 1024 ** 2,
  GB: 1024 ** 3,
  TB: 1024 ** 4,
};
/** MySQL/MariaDB settings that size a per-session buffer or result, in bytes. */
const MYSQL_MEMORY = new Set([
  "sort_buffer_size",
  "join_buffer_size",
  "tmp_table_size",
  "max_heap_table_size",
  "group_concat_max_len",
]);

/**
 * Why setting `name` to `values` is not allowed, or undefined when it is: the name must be on
 * the dialect's list, and a memory setting must stay at or below the ceiling. A value the
 * reviewer cannot read as a size is refused, never guessed.
 */
export function settingProblem(
  dialect: SqlDialect,
  name: string,
  values: readonly SettingValue[],
  ceilings: SettingCeilings = DEFAULT_SETTING_CEILINGS,
): string | undefined {
  const lower = name.toLowerCase();
  if (!isSafeSetting(dialect, lower)) return `${lower} is not one of the session settings dbward allows`;
  const value = values.length === 1 ? values[0] : undefined;
  if (values.length === 0 || value?.kind === "default") return undefined;
  if (dialect === "postgres") return pgCeilingProblem(lower, value, ceilings);
  if (MYSQL_MEMORY.has(lower)) {
    if (value?.kind !== "number" || !Number.isFinite(value.value))
      return `${lower} must be a number of bytes`;
    return aboveCeiling(lower, value.value, ceilings.memoryBytes);
  }
  return undefined;
}

function pgCeilingProblem(
  name: string,
  value: SettingValue | undefined,
  ceilings: SettingCeilings,
): string | undefined {
  if (name === "hash_mem_multiplier") {
    const n = value?.kind === "number" ? value.value : value?.kind === "string" ? Number(value.value) : NaN;
    if (!Number.isFinite(n)) return "hash_mem_multiplier must be a number";
    return n > ceilings.hashMemMultiplier
      ? `hash_mem_multiplier ${n} is above this database's ceiling of ${ceilings.hashMemMultiplier}`
      : undefined;
  }
  if (PG_PARALLEL.has(name)) {
    const n = value?.kind === "number" ? value.value : value?.kind === "string" ? Number(value.value) : NaN;
    if (!Number.isInteger(n) || n < 0) return `${name} must be a whole number`;
    return n > ceilings.parallelWorkers
      ? `${name} ${n} is above this database's ceiling of ${ceilings.parallelWorkers} (each worker gets its own work_mem)`
      : undefined;
  }
  const unit = PG_MEMORY_UNIT[name];
  if (unit === undefined) return undefined;
  const bytes = pgMemoryBytes(value, unit);
  if (bytes === undefined) return `${name} must be a size such as '64MB'`;
  return aboveCeiling(name, bytes, ceilings.memoryBytes);
}

/** `'64MB'`, `'512 kB'`, `65536` (in the setting's unit) → bytes; undefined when unreadable. */
function pgMemoryBytes(value: SettingValue | undefined, unit: number): number | undefined {
  if (value?.kind === "number") return Number.isFinite(value.value) ? value.value * unit : undefined;
  if (value?.kind !== "string") return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(value.value);
  if (match === null) return undefined;
  const amount = Number(match[1]);
  const suffix = match[2] ?? "";
  if (suffix === "") return amount * unit;
  const multiplier = PG_UNITS[suffix];
  return multiplier === undefined ? undefined : amount * multiplier;
}

function aboveCeiling(name: string, bytes: number, ceiling: number): string | undefined {
  if (bytes <= ceiling) return undefined;
  // Rounded sizes can print alike ('262144.9' kB and 256 MB): then say it in bytes.
  const [asked, limit] = [formatBytes(bytes), formatBytes(ceiling)];
  return asked === limit
    ? `${name} asks for ${Math.ceil(bytes)} bytes, above this database's ceiling of ${ceiling} bytes`
    : `${name} asks for ${asked}, above this database's ceiling of ${limit}`;
}

function formatBytes(bytes: number): string {
  for (const [suffix, size] of [
    ["TB", 1024 ** 4],
    ["GB", 1024 ** 3],
    ["MB", 1024 ** 2],
    ["kB", 1024],
  ] as const) {
    if (bytes >= size) return `${Number((bytes / size).toFixed(2))} ${suffix}`;
  }
  return `${bytes} B`;
}

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
