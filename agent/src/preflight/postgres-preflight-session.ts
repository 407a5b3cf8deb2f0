/**
 * One PostgreSQL preflight on a pooled client: a transaction (READ ONLY for an EXPLAIN) with its
 * timeouts set LOCAL (`set_config(…, true)`), so they end with it; always ROLLBACK, never COMMIT;
 * then `DISCARD ALL`, as the driver does, so nothing the statement did to the session (an
 * advisory lock, a prepared statement) reaches the next job. A client whose ROLLBACK or reset
 * fails is discarded; a connection that broke mid-statement was rolled back by the server.
 *
 * While the client is checked out, an 'error' it emits (the backend terminated, the TCP
 * connection cut) is heard here: pg-pool only listens while it is idle, and unheard it would end
 * the agent.
 */
import { DbwardError } from "@dbward/shared";
import type pg from "pg";
import { executionFailed, executionTimeout } from "../drivers/driver.ts";
import { isConnectionError, sqlState } from "../drivers/postgres.ts";
import { lockTimeoutError } from "./preflight-result.ts";

const QUERY_CANCELED = "57014";
const LOCK_NOT_AVAILABLE = "55P03";

export interface PgPreflightTransaction {
  readonly readOnly: boolean;
  readonly statementTimeoutMs: number;
  readonly lockTimeoutMs?: number;
}

/** Runs `work` inside a transaction that is rolled back whatever happens; throws only DbwardError. */
export async function inRolledBackPgTransaction<T>(
  pool: pg.Pool,
  transaction: PgPreflightTransaction,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw executionFailed(err, undefined, true);
  }
  let lost: Error | undefined;
  const onError = (err: Error): void => {
    lost ??= err;
  };
  client.on("error", onError);
  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    await client.query(transaction.readOnly ? "BEGIN READ ONLY" : "BEGIN");
    await setLocal(client, "statement_timeout", transaction.statementTimeoutMs);
    if (transaction.lockTimeoutMs !== undefined)
      await setLocal(client, "lock_timeout", transaction.lockTimeoutMs);
    outcome = { ok: true, value: await work(client) };
  } catch (err) {
    outcome = { ok: false, error: err };
  }
  const reset = await client
    .query("ROLLBACK")
    .then(() => client.query("DISCARD ALL"))
    .then(
      () => lost === undefined,
      () => false,
    );
  client.release(!reset);
  client.removeListener("error", onError);
  if (outcome.ok) return outcome.value;
  throw pgPreflightError(outcome.error, lost, transaction);
}

function setLocal(client: pg.PoolClient, name: string, ms: number): Promise<unknown> {
  return client.query("SELECT set_config($1, $2, true)", [name, String(ms)]);
}

/** The server's answer wins over pg's later echoes of a lost connection. */
function pgPreflightError(
  thrown: unknown,
  lost: Error | undefined,
  transaction: PgPreflightTransaction,
): DbwardError {
  if (thrown instanceof DbwardError) return thrown;
  const state = sqlState(thrown);
  if (state === QUERY_CANCELED) return executionTimeout(transaction.statementTimeoutMs);
  if (state === LOCK_NOT_AVAILABLE && transaction.lockTimeoutMs !== undefined) {
    return lockTimeoutError(transaction.lockTimeoutMs);
  }
  const err = state === undefined && lost !== undefined ? lost : thrown;
  return executionFailed(
    err,
    sqlState(err),
    isConnectionError(err) || (state === undefined && lost !== undefined),
  );
}
