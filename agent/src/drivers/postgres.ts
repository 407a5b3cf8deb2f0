/**
 * PostgreSQL driver (pg + pg-cursor). Each execution:
 * - runs in its own transaction, `BEGIN READ ONLY` for reads, so a write smuggled into a read is
 *   refused by the server itself; reads end in ROLLBACK, writes and DDL in COMMIT;
 * - sets `statement_timeout` with `set_config(…, true)`, the parameterised form of `SET LOCAL`,
 *   so it ends with the transaction; runs the request's reviewed session settings, if any, inside
 *   the transaction, then sets the timeout again to the shorter of theirs and the agent's. PostgreSQL times each fetch of the cursor on its own, so the
 *   timeout bounds the database's work between two batches, not the time a large result takes
 *   to reach the bot;
 * - goes through the extended query protocol, which accepts exactly one statement;
 * - reads a query (SELECT, WITH, VALUES, TABLE) as `COPY (…) TO STDOUT (FORMAT csv)`, whose rows
 *   are the server's own CSV text, handed on as bytes (postgres-copy.ts says why the wrapping
 *   cannot change what runs); the statement timeout then bounds the whole read;
 * - otherwise fetches BATCH_ROWS rows per round trip through a cursor, asking for the next batch while the
 *   sink takes the current one and waiting for the sink before asking again, so the database
 *   and the agent work at the same time and a huge result never loads (two batches at most);
 * - on abort, asks the server to cancel the statement with a protocol CancelRequest (the job's
 *   backend pid and secret key on a fresh socket, postgres-cancel-request.ts), which needs no
 *   second login; SQLSTATE 57014 then means cancelled, while without an abort it means the
 *   statement timeout fired;
 * - ends with ROLLBACK when anything failed and `DISCARD ALL` in any case, so a session setting
 *   made by one job never carries over; a connection that cannot be reset is discarded;
 * - watches the checked-out client for the whole job: a backend terminated
 *   (`pg_terminate_backend`, `DROP DATABASE … WITH (FORCE)`, a server shutdown) or a TCP
 *   connection cut mid-job makes pg emit 'error' on the client, which pg-pool only listens for
 *   while the client is idle. Unheard, that event would end the agent; heard, it fails the job
 *   with the database's own error, marked as a lost connection, and the client is discarded;
 * - hands the same errors of an idle pooled client (pg-pool's 'error' event: the backend was
 *   terminated, the server restarted, the TCP connection was cut while no job used it), and of
 *   one that broke during its `DISCARD ALL` after the job, to `onIdleError`, in the form a job
 *   would have failed with, so the agent marks the database degraded at once instead of
 *   advertising it until a job fails; that client is dropped, and the next job connects afresh.
 */
import { DbwardError, type ColumnKind } from "@dbward/shared";
import pg from "pg";
import Cursor from "pg-cursor";
import type { DatabaseConfig } from "../config.ts";
import {
  assertWithinRowGuard,
  BATCH_ROWS,
  collect,
  csvToRows,
  executionCancelled,
  executionFailed,
  executionTimeout,
  isAborted,
  type Driver,
  type ExecuteOptions,
  type RowSink,
  type StreamSummary,
} from "./driver.ts";
import { rowToJson } from "./json-value.ts";
import { checkPgCatalog } from "./postgres-catalog-check.ts";
import { sendCancelRequest, type CancelTarget } from "./postgres-cancel-request.ts";
import { copyQuery, isCopyableQuery } from "./postgres-copy.ts";
import { assertPostgresMaskedColumnsExist, postgresOrigins } from "../masking/postgres-origins.ts";
import { redactedFailure } from "../masking/redact-error.ts";
import { rowMasker, type RowMasker } from "../masking/result-masking.ts";
import { serverCanceller, type ServerCanceller } from "./server-canceller.ts";

const QUERY_CANCELED = "57014";
/** How long a CancelRequest may take to reach the server. */
const CANCEL_TIMEOUT_MS = 5000;
const TEXT_ARRAY = 1009;
/** SQLSTATEs of a connection that broke: class 08 and the server shutting sessions down. */
const CONNECTION_STATES = /^(08|57P0[123])/;
const CONNECTION_ERRNOS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENOTFOUND",
]);

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

/**
 * The pool every job of one database shares. Its caller listens for the pool's 'error' (an idle
 * client's backend terminated, the server restarted): with no listener it would end the process.
 */
export function createPostgresPool(db: DatabaseConfig): pg.Pool {
  return new pg.Pool({
    connectionString: db.url.reveal(),
    max: 4,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 60_000,
    application_name: "dbward-agent",
  });
}

export function createPostgresDriver(db: DatabaseConfig, onIdleError: (err: Error) => void): Driver {
  const types = resultTypes();
  const pool = createPostgresPool(db);
  // An idle pooled connection that breaks emits here; without a listener it would crash the agent.
  pool.on("error", (err) => onIdleError(executionFailed(err, sqlState(err), true)));
  const target: Target = { pool, types, db, onIdleError };
  const stream: Driver["stream"] = (sql, options, sink) => streamOnPool(target, sql, options, sink);
  return {
    stream,
    execute: (sql, options) => collect(stream, sql, options),
    close: () => pool.end(),
  };
}

/** What every job of one database shares. */
interface Target {
  readonly pool: pg.Pool;
  readonly types: pg.CustomTypesConfig;
  readonly db: DatabaseConfig;
  readonly onIdleError: (err: Error) => void;
}

async function streamOnPool(
  { pool, types, onIdleError }: Target,
  sql: string,
  options: ExecuteOptions,
  sink: RowSink,
): Promise<StreamSummary> {
  if (isAborted(options.signal)) throw executionCancelled();
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw executionFailed(err, undefined, true);
  }
  const watch = watchClient(client);
  const canceller = serverCanceller(options.signal, () => cancelBackend(client));
  try {
    const stop = (): Promise<void> => cancelBackend(client);
    const copy = { connectionClosed: false };
    const summary = await inTransaction(client, { types, sql, options, sink, canceller, stop, copy, pool });
    // A COPY that went on after its stop was cut off by closing the connection: nothing to reset.
    if (copy.connectionClosed) client.release(true);
    else await release(client, watch, onIdleError);
    return summary;
  } catch (thrown) {
    await canceller.settled();
    const err = failureCause(thrown, watch.error);
    const broken = isConnectionError(err) || watch.error !== undefined;
    if (broken) client.release(true);
    else await release(client, watch, onIdleError);
    if (isTimeout(err) && (!isAborted(options.signal) || canceller.failed))
      throw executionTimeout(options.statementTimeoutMs);
    if (isAborted(options.signal) && !broken) throw executionCancelled();
    if (
      err instanceof DbwardError &&
      (err.code === "sql.unverified" ||
        err.code === "execution.row_guard" ||
        err.code === "masking.unknown_column")
    )
      throw err;
    const failed = executionFailed(err, sqlState(err), isConnectionError(err));
    // With masks on, a message that could quote a stored value never leaves (redact-error.ts).
    throw options.masking === undefined ? failed : redactedFailure(failed, "postgres", sqlState(err), sql);
  } finally {
    // Released by now: pg-pool listens again for an idle client, or has ended a discarded one.
    watch.dispose();
    canceller.dispose();
  }
}

/** The first connection error a checked-out client emitted, if any. */
interface ClientWatch {
  readonly error: Error | undefined;
  dispose(): void;
}

function watchClient(client: pg.PoolClient): ClientWatch {
  let first: Error | undefined;
  const onError = (err: Error): void => {
    first ??= err;
  };
  client.on("error", onError);
  return {
    get error() {
      return first;
    },
    dispose: () => client.removeListener("error", onError),
  };
}

/**
 * The statement has ended by now: a failed reset only means this connection is not reused, and
 * one that failed because the connection broke is reported as an idle connection's error would
 * be: no job uses it any more, and pg-pool's own listener is not back on it yet.
 */
async function release(
  client: pg.PoolClient,
  watch: ClientWatch,
  onIdleError: (err: Error) => void,
): Promise<void> {
  let reset = true;
  let failed: unknown;
  await client.query("DISCARD ALL").catch((err: unknown) => {
    reset = false;
    failed = failureCause(err, watch.error);
  });
  client.release(!reset);
  if (!reset && isConnectionError(failed)) onIdleError(executionFailed(failed, sqlState(failed), true));
}

/**
 * What the job failed with. The server's own answer (a DatabaseError, e.g. 57P01 "terminating
 * connection due to administrator command") wins; pg's later errors on a dead client ("Client
 * has encountered a connection error and is not queryable") only echo the first socket error.
 */
function failureCause(thrown: unknown, lost: Error | undefined): unknown {
  if (lost === undefined || thrown instanceof pg.DatabaseError || thrown instanceof DbwardError)
    return thrown;
  return lost;
}

/** One job's statement and where its rows go. */
interface Job {
  readonly types: pg.CustomTypesConfig;
  readonly sql: string;
  readonly options: ExecuteOptions;
  readonly sink: RowSink;
  readonly canceller: ServerCanceller;
  /** Cancels the statement on the server, for a read the sink has had enough of. */
  readonly stop: () => Promise<void>;
  /** Set when a stopped COPY was cut off by closing the connection (postgres-copy.ts). */
  readonly copy: { connectionClosed: boolean };
  /** For the masks' origin lookup, which cannot use the job's connection while its cursor is open. */
  readonly pool: pg.Pool;
}

async function inTransaction(client: pg.PoolClient, job: Job): Promise<StreamSummary> {
  const { types, sql, options, sink, canceller } = job;
  const isRead = options.operation === "read";
  await client.query(isRead ? "BEGIN READ ONLY" : "BEGIN");
  try {
    await client.query("SELECT set_config('statement_timeout', $1, true)", [
      String(options.statementTimeoutMs),
    ]);
    if (options.session !== undefined && options.session.length > 0) {
      // The extended protocol takes one statement each: a setting can never smuggle a second.
      for (const setting of options.session) await client.query(extendedProtocol(setting));
      // pg_settings holds statement_timeout in milliseconds, 0 meaning none: keep the shorter.
      await client.query(
        `SELECT set_config('statement_timeout', LEAST(NULLIF(setting::bigint, 0), $1::bigint)::text, true)
           FROM pg_settings WHERE name = 'statement_timeout'`,
        [options.statementTimeoutMs],
      );
    }
    if (isRead && options.catalogCheck !== undefined) await checkPgCatalog(client, options.catalogCheck);
    if (options.masking !== undefined) await assertPostgresMaskedColumnsExist(client, options.masking.masks);
    const query = isRead ? options.readQuery : undefined;
    // COPY's CSV names no column origins, so masked rows go through the cursor, which does.
    const masking = options.masking;
    const masker =
      masking === undefined
        ? undefined
        : async (fields: readonly FieldOrigin[]): Promise<RowMasker> =>
            rowMasker(masking, await postgresOrigins(job.pool, fields));
    const summary =
      query !== undefined && isCopyableQuery(query) && masker === undefined
        ? await readCopy(client, query, job)
        : await readCursor(client, types, sql, options, sink, canceller, masker);
    // An abort that came after the last fetch still wins over a commit that has not started.
    if (isAborted(options.signal)) throw executionCancelled();
    // A closed connection's transaction (read only) was rolled back by the server itself.
    if (job.copy.connectionClosed) return summary;
    // Over its bound, the write is rolled back by the catch below: it never commits.
    if (!isRead) assertWithinRowGuard(summary, options);
    await client.query(isRead ? "ROLLBACK" : "COMMIT");
    return summary;
  } catch (err) {
    // Let a cancel in flight land first, so it cannot hit the ROLLBACK or the next job.
    await canceller.settled();
    // A failed ROLLBACK means a broken connection, which the caller discards.
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
}

/** pg supports `queryMode` (since 8.11); @types/pg does not declare it. */
export function extendedProtocol(text: string): pg.QueryConfig {
  return { text, queryMode: "extended" } as pg.QueryConfig;
}

/**
 * The output settings a COPY's cells are read back by (their kinds, shared result-csv.ts), for
 * this transaction only, after the request's own settings: a reviewed `SET bytea_output =
 * 'escape'` or `SET DateStyle = 'SQL, DMY'` (or a role's or database's default) would change the
 * text of bytea, timestamptz and float cells, and bytea in escape form can pass for base64.
 * extra_float_digits is raised to 1 (the default since PostgreSQL 12: shortest exact) when lower.
 */
const COPY_OUTPUT_SETTINGS = `SELECT set_config('bytea_output', 'hex', true),
  set_config('DateStyle', 'ISO, MDY', true),
  set_config('IntervalStyle', 'postgres', true),
  set_config('extra_float_digits', GREATEST(current_setting('extra_float_digits')::int, 1)::text, true)`;

/** A read through COPY: CSV rows to the sink as they come (or as values, for a sink without `csv`). */
async function readCopy(client: pg.PoolClient, statement: string, job: Job): Promise<StreamSummary> {
  const { options, sink } = job;
  await client.query(COPY_OUTPUT_SETTINGS);
  let kinds: readonly ColumnKind[] = [];
  let columns = false;
  const end = await job.canceller.during(() =>
    copyQuery(client, statement, {
      columns: (c) => {
        kinds = c.kinds;
        columns = true;
        sink.columns(c.names, c.kinds);
      },
      rows: (batch) => {
        if (isAborted(options.signal)) return Promise.resolve(false);
        return sink.csv === undefined ? sink.rows(csvToRows(batch, kinds)) : sink.csv(batch);
      },
      stop: job.stop,
    }),
  );
  job.copy.connectionClosed = end.connectionClosed;
  if (!columns) sink.columns([]);
  return {};
}

async function readCursor(
  client: pg.PoolClient,
  types: pg.CustomTypesConfig,
  sql: string,
  options: ExecuteOptions,
  sink: RowSink,
  canceller: ServerCanceller,
  masker?: (fields: readonly FieldOrigin[]) => Promise<RowMasker>,
): Promise<StreamSummary> {
  let mask: RowMasker = (row) => row;
  const cursor = client.query(new Cursor(sql, null, { rowMode: "array", types }));
  const fetch = (): Promise<Batch> => {
    const batch = canceller.during(() => read(cursor, BATCH_ROWS));
    // A fetch that fails while the sink is busy is seen when it is awaited, not as unhandled.
    batch.catch(() => undefined);
    return batch;
  };
  let wanted = true;
  let columns = false;
  let streamed = 0;
  let next = fetch();
  /** Whether `next` is a fetch nobody has waited for yet. */
  let ahead = true;
  try {
    for (;;) {
      if (isAborted(options.signal)) throw executionCancelled();
      const { rows, result } = await next;
      ahead = false;
      // Fewer rows than asked for: the portal has completed (reading on would answer nothing).
      const done = rows.length < BATCH_ROWS;
      // The next batch is asked for before the sink takes this one, so the server produces it
      // while the agent encodes and uploads; the agent holds two batches at most.
      if (!done && (wanted || options.operation !== "read")) {
        next = fetch();
        ahead = true;
      }
      if (!columns) {
        if (masker !== undefined) mask = await masker(result.fields);
        sink.columns(result.fields.map((f) => f.name));
        columns = true;
      }
      streamed += rows.length;
      if (wanted && rows.length > 0) wanted = await sink.rows(rows.map((r) => mask(rowToJson(r))));
      if (done || (!wanted && options.operation === "read")) {
        await closeCursor(cursor, ahead ? next : undefined);
        ahead = false;
        if (!done || options.operation === "read" || result.rowCount === null) return {};
        if (result.command === "SELECT") return {};
        // The last fetch's command tag counts only that fetch's rows; with RETURNING every
        // changed row was streamed, without it the one fetch's tag has the whole count.
        return { affected_rows: streamed > 0 ? streamed : result.rowCount };
      }
    }
  } catch (err) {
    await closeCursor(cursor, ahead ? next : undefined).catch(() => undefined);
    throw err;
  }
}

type Batch = Awaited<ReturnType<typeof read>>;

/** A result column's origin as RowDescription gives it (0 when it has none). */
interface FieldOrigin {
  readonly tableID: number;
  readonly columnID: number;
}

/**
 * Closes the portal once the fetch in flight, if any, has ended. A stop on this side (the sink
 * wants no more, an abort seen between fetches, a sink that threw) leaves the portal suspended,
 * and the connection waits on it: a ROLLBACK would queue behind it for ever. A completed portal
 * is closed already, and a failed fetch has ended it (pg-cursor syncs on an error).
 */
async function closeCursor(cursor: Cursor, inFlight: Promise<Batch> | undefined): Promise<void> {
  const fetched = await (inFlight ?? Promise.resolve()).then(
    () => true,
    () => false,
  );
  if (fetched && cursorState(cursor) === "idle") await cursor.close();
}

/** pg-cursor's own state; its types do not declare it. */
function cursorState(cursor: Cursor): string | undefined {
  const state: unknown = "state" in cursor ? cursor.state : undefined;
  return typeof state === "string" ? state : undefined;
}

function read(
  cursor: Cursor,
  count: number,
): Promise<{
  rows: unknown[][];
  result: { fields: ({ name: string } & FieldOrigin)[]; rowCount: number | null; command: string };
}> {
  return new Promise((resolve, reject) => {
    cursor.read(count, (err, rows, result) => {
      if (err !== undefined && err !== null) reject(err);
      else resolve({ rows, result });
    });
  });
}

/** Cancels whatever the job's backend runs now, with a CancelRequest (no second login). */
async function cancelBackend(client: pg.PoolClient): Promise<void> {
  const target = cancelTarget(client);
  if (target === undefined) return;
  await sendCancelRequest(target, CANCEL_TIMEOUT_MS);
}

/** Where the client is connected and the key its backend sent; its types do not declare them. */
function cancelTarget(client: pg.PoolClient): CancelTarget | undefined {
  const c = client as unknown as { host?: unknown; port?: unknown; processID?: unknown; secretKey?: unknown };
  const { host, port, processID, secretKey } = c;
  if (typeof host !== "string" || typeof port !== "number") return undefined;
  if (typeof processID !== "number" || typeof secretKey !== "number") return undefined;
  return { host, port, processId: processID, secretKey };
}

/** The SQLSTATE of a server error, if `err` is one. */
export function sqlState(err: unknown): string | undefined {
  return err instanceof pg.DatabaseError ? err.code : undefined;
}

function isTimeout(err: unknown): boolean {
  return sqlState(err) === QUERY_CANCELED;
}

/** True for a failure that means the connection broke (class 08, shutdown, a socket error). */
export function isConnectionError(err: unknown): boolean {
  const state = sqlState(err);
  if (state !== undefined) return CONNECTION_STATES.test(state);
  if (!(err instanceof Error)) return false;
  const code = "code" in err ? err.code : undefined;
  return (
    (typeof code === "string" && CONNECTION_ERRNOS.has(code)) ||
    /Connection terminated|connection timeout|not queryable/i.test(err.message)
  );
}
