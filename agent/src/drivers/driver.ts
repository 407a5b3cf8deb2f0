/**
 * The one interface every database driver implements. A driver runs exactly one SQL text in its
 * own transaction, read-only for reads, under a statement timeout, and returns at most `rowCap`
 * rows with JSON-safe values (json-value.ts). It throws only `DbwardError`:
 * `execution.timeout` when the statement timeout fired, `execution.failed` for anything else the
 * database refused.
 */
import { DbwardError, type OperationClass } from "@dbward/shared";

export interface ExecuteOptions {
  readonly operation: OperationClass;
  readonly statementTimeoutMs: number;
  readonly rowCap: number;
}

export interface ExecuteResult {
  /** Column names in the order the statement produced them (empty for a statement without rows). */
  readonly columns: string[];
  readonly rows: unknown[][];
  /** Rows returned, never more than the row cap. */
  readonly row_count: number;
  /** True when the statement had more rows than the cap. */
  readonly truncated: boolean;
  /** Rows changed by a write, when the database reports it. */
  readonly affected_rows?: number;
}

export interface Driver {
  execute(sql: string, options: ExecuteOptions): Promise<ExecuteResult>;
  /** Closes the pool; the driver is unusable afterwards. */
  close(): Promise<void>;
}

export function executionTimeout(timeoutMs: number): DbwardError {
  return new DbwardError(
    "execution.timeout",
    `statement exceeded its ${timeoutMs} ms timeout and was stopped`,
  );
}

/**
 * The database's own message, with its error code when it has one. Messages from drivers never
 * contain the connection URL; they can contain values from the statement, which is why results
 * and errors only go to the bot.
 */
export function executionFailed(err: unknown, code?: string): DbwardError {
  const message = err instanceof Error ? err.message : String(err);
  return new DbwardError("execution.failed", code === undefined ? message : `${message} (${code})`);
}

/** Builds a result from collected rows: keeps at most `rowCap` and notes whether more existed. */
export function capRows(
  columns: string[],
  rows: unknown[][],
  rowCap: number,
  affectedRows?: number,
): ExecuteResult {
  const kept = rows.slice(0, rowCap);
  return {
    columns,
    rows: kept,
    row_count: kept.length,
    truncated: rows.length > rowCap,
    ...(affectedRows === undefined ? {} : { affected_rows: affectedRows }),
  };
}
