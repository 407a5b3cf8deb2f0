/**
 * PostgreSQL driver (pg + pg-cursor). Each execution:
 * - runs in its own transaction, `BEGIN READ ONLY` for reads, so a write smuggled into a read is
 *   refused by the server itself; reads end in ROLLBACK, writes and DDL in COMMIT;
 * - sets `statement_timeout` with `set_config(…, true)`, the parameterised form of `SET LOCAL`,
 *   so it ends with the transaction; SQLSTATE 57014 (query_canceled) becomes `execution.timeout`;
 * - goes through the extended query protocol, which accepts exactly one statement;
 * - reads through a cursor that fetches at most rowCap + 1 rows, so a huge result never loads;
 * - ends with `DISCARD ALL`, so a session setting made by one job (a committed `SET`, `SET ROLE`)
 *   never carries over to the next job on the same pooled connection.
 */
import pg from "pg";
import Cursor from "pg-cursor";
import type { DatabaseConfig } from "../config.ts";
import {
  capRows,
  executionFailed,
  executionTimeout,
  type Driver,
  type ExecuteOptions,
  type ExecuteResult,
} from "./driver.ts";
import { rowToJson } from "./json-value.ts";

const QUERY_CANCELED = "57014";
const TEXT_ARRAY = 1009;

/**
 * pg turns date, timestamp (without time zone) and interval values into JS objects in the
 * agent's local time zone, which would make a result depend on where the agent runs. Keep the
 * server's text instead; timestamptz stays a Date and becomes an unambiguous ISO string.
 */
function resultTypes(): pg.CustomTypesConfig {
  const types = new pg.TypeOverrides();
  const asText = (value: string): string => value;
  // @types/pg declares parsers as taking an oid; at run time they take the value text.
  const asTextArray = types.getTypeParser(TEXT_ARRAY, "text") as unknown as (value: string) => string[];
  for (const oid of [1082, 1114, 1186]) types.setTypeParser(oid, asText);
  for (const oid of [1182, 1115, 1187]) types.setTypeParser(oid, asTextArray);
  return types;
}

export function createPostgresDriver(db: DatabaseConfig, onIdleError: (err: Error) => void): Driver {
  const types = resultTypes();
  const pool = new pg.Pool({
    connectionString: db.url.reveal(),
    max: 4,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 60_000,
    application_name: "dbward-agent",
  });
  // An idle pooled connection that breaks emits here; without a listener it would crash the agent.
  pool.on("error", onIdleError);
  return {
    execute: (sql, options) => executeOnPool(pool, types, sql, options),
    close: () => pool.end(),
  };
}

async function executeOnPool(
  pool: pg.Pool,
  types: pg.CustomTypesConfig,
  sql: string,
  options: ExecuteOptions,
): Promise<ExecuteResult> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw executionFailed(err);
  }
  let result: ExecuteResult;
  try {
    result = await inTransaction(client, types, sql, options);
  } catch (err) {
    client.release(true);
    throw isTimeout(err) ? executionTimeout(options.statementTimeoutMs) : executionFailed(err, sqlState(err));
  }
  // The statement has committed by now: a failed reset must not turn the job into a failure, it
  // only means this connection is not reused.
  const reset = await client.query("DISCARD ALL").then(
    () => true,
    () => false,
  );
  client.release(!reset);
  return result;
}

async function inTransaction(
  client: pg.PoolClient,
  types: pg.CustomTypesConfig,
  sql: string,
  options: ExecuteOptions,
): Promise<ExecuteResult> {
  const isRead = options.operation === "read";
  await client.query(isRead ? "BEGIN READ ONLY" : "BEGIN");
  try {
    await client.query("SELECT set_config('statement_timeout', $1, true)", [
      String(options.statementTimeoutMs),
    ]);
    const result = await readCursor(client, types, sql, options);
    await client.query(isRead ? "ROLLBACK" : "COMMIT");
    return result;
  } catch (err) {
    // The connection is destroyed on release when this fails too, so its error adds nothing.
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
}

function readCursor(
  client: pg.PoolClient,
  types: pg.CustomTypesConfig,
  sql: string,
  options: ExecuteOptions,
): Promise<ExecuteResult> {
  const cursor = client.query(new Cursor(sql, null, { rowMode: "array", types }));
  return new Promise((resolve, reject) => {
    // rowCap + 1 is never 0, which the protocol would read as "all rows".
    cursor.read(options.rowCap + 1, (err, rows, result) => {
      if (err !== undefined && err !== null) return reject(err);
      const columns = result.fields.map((f) => f.name);
      // rowCount is known only when the statement ran to completion within this read.
      const affected =
        options.operation !== "read" && result.command !== "SELECT" && result.rowCount !== null
          ? result.rowCount
          : undefined;
      cursor
        .close()
        .then(() => resolve(capRows(columns, rows.map(rowToJson), options.rowCap, affected)), reject);
    });
  });
}

function sqlState(err: unknown): string | undefined {
  return err instanceof pg.DatabaseError ? err.code : undefined;
}

function isTimeout(err: unknown): boolean {
  return sqlState(err) === QUERY_CANCELED;
}
