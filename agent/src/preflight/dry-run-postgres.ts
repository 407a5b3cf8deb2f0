/**
 * A dry run on PostgreSQL: the exact number of rows one INSERT, UPDATE or DELETE changes, found by
 * running it and rolling it back. `BEGIN`, `lock_timeout` and `statement_timeout` set LOCAL (so
 * they end with the transaction), the statement, ROLLBACK always, then `DISCARD ALL`.
 *
 * A short lock timeout: the statement runs before anyone approved it, so it must not queue behind
 * (and in front of) production traffic; a lock another session holds makes it give up at once.
 *
 * What ROLLBACK does not undo: sequence values the statement draws (`nextval`, serial and
 * identity columns of an INSERT) stay drawn, and anything a function it calls does outside the
 * transaction (dblink, signals to other backends) has happened. The rows never change.
 */
import { DbwardError } from "@dbward/shared";
import type pg from "pg";
import Cursor from "pg-cursor";
import { BATCH_ROWS } from "../drivers/driver.ts";
import { inRolledBackPgTransaction } from "./postgres-preflight-session.ts";
import { assertPreflightStatement } from "./preflight-statement.ts";
import {
  DEFAULT_LOCK_TIMEOUT_MS,
  elapsedMs,
  type DryRunOptions,
  type DryRunResult,
} from "./preflight-result.ts";

export interface PgDryRunOptions extends DryRunOptions {
  /**
   * Runs on the dry run's client inside its transaction (timeouts set) just before the
   * statement; throw a DbwardError to refuse it (dry-run-safety.ts), and nothing runs.
   */
  readonly beforeStatement?: (client: pg.PoolClient) => Promise<void>;
}

/**
 * Rows `sql` would change on the pool's database; nothing it changes is committed. Throws
 * `sql.rejected` (nothing sent to the server) for anything but one INSERT, UPDATE or DELETE,
 * `execution.timeout` when the statement or a lock wait outlasts its limit, `execution.failed`
 * with the server's message when the statement fails.
 */
export async function dryRunPostgres(
  pool: pg.Pool,
  sql: string,
  options: PgDryRunOptions,
): Promise<DryRunResult> {
  const statement = assertPreflightStatement(sql, "postgres", "dry_run", options.reviewOptions);
  const started = performance.now();
  const affected = await inRolledBackPgTransaction(
    pool,
    {
      readOnly: false,
      statementTimeoutMs: options.statementTimeoutMs,
      lockTimeoutMs: options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS,
    },
    async (client) => {
      await options.beforeStatement?.(client);
      return countChangedRows(client, statement.text);
    },
  );
  return { affected_rows: affected, duration_ms: elapsedMs(started) };
}

/**
 * Runs the statement through a cursor (the extended protocol: one statement), so rows it returns
 * (RETURNING) are counted and dropped batch by batch, never held. With RETURNING every changed
 * row is returned; without it the command tag has the count.
 */
async function countChangedRows(client: pg.PoolClient, text: string): Promise<number> {
  const cursor = client.query(new Cursor(text, null, { rowMode: "array" }));
  let returned = 0;
  for (;;) {
    const { rows, rowCount } = await readBatch(cursor);
    returned += rows;
    if (rows < BATCH_ROWS) {
      const count = returned > 0 ? returned : rowCount;
      if (count === null) {
        throw new DbwardError(
          "execution.failed",
          "the database did not report how many rows the statement changed",
        );
      }
      return count;
    }
  }
}

function readBatch(cursor: Cursor): Promise<{ rows: number; rowCount: number | null }> {
  return new Promise((resolve, reject) => {
    cursor.read(BATCH_ROWS, (err, rows, result) => {
      if (err !== undefined && err !== null) reject(err);
      else resolve({ rows: rows.length, rowCount: result.rowCount });
    });
  });
}
