/**
 * Opens the state store on PostgreSQL (docs/configuration.md, `state.url`): a connection pool, the
 * schema applied under the store's write lock, and every Kysely transaction serialised on that lock.
 *
 * Why one lock for every write transaction: the use cases were proven on SQLite, where a
 * transaction begins IMMEDIATE and so holds the whole store's write lock from its first statement
 * (open-store.ts). They read and then write inside it — the audit chain's head, a request's status
 * before its compare-and-set, a step's approvals before the final one — and rely on no other writer
 * moving in between. `pg_advisory_xact_lock` at BEGIN gives every instance on one PostgreSQL the
 * same guarantee, so the chain stays one sequence with no gap or fork however many bots append
 * (issue: the audit chain with concurrent writers), and it is released by COMMIT, ROLLBACK or the
 * connection dying — a killed instance cannot leave it held. Reads outside transactions do not
 * take it. Every change appends an audit event, so changes serialise on the chain's head anyway;
 * the lock makes that explicit instead of leaving it to a unique-key violation.
 */
import { readFileSync } from "node:fs";
import type pg from "pg";
import { loadPg } from "./load-pg.ts";
import {
  CompiledQuery,
  Kysely,
  PostgresAdapter,
  PostgresDialect,
  PostgresDriver,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type PostgresDialectConfig,
  type TransactionSettings,
} from "kysely";
import { ADDED_COLUMNS } from "./added-columns.ts";
import { widenPostgresChecks } from "./widened-checks.ts";
import { schemaPath, SCHEMA_VERSION, type Store } from "./open-store.ts";
import { STATE_WRITE_LOCK } from "./postgres-locks.ts";
import { postgresSchema } from "./postgres-schema.ts";
import type { Database } from "./tables.ts";

export interface PostgresStoreOptions {
  /** `postgres://user@host:port/db?sslmode=…` without a password (config refuses one). */
  readonly url: string;
  /** From the environment (DBWARD_STATE_PASSWORD); absent: the server's trust or a .pgpass. */
  readonly password?: string;
  /** Connections in this instance's pool. */
  readonly poolSize: number;
  /**
   * A pooled connection failed (the server restarted, failed over, or ended the session): the
   * pool drops it and goes on; a query on it at the time fails.
   */
  readonly onIdleError: (err: Error) => void;
  /**
   * Offline reading (`dbward audit verify --state-url`): no schema applied, and every session
   * read-only (`default_transaction_read_only`), so the reader cannot change the state.
   */
  readonly readonly?: boolean;
  /**
   * How long the server lets a session sit idle inside a transaction before ending it (default
   * 60 s): an instance that stalls or is cut off while holding the write lock would otherwise
   * hold every instance's writes until the kernel gives up on the connection (two hours).
   */
  readonly idleInTransactionMs?: number;
}

const INT8_OID = 20;

class LockingPostgresDriver extends PostgresDriver {
  override async beginTransaction(
    connection: DatabaseConnection,
    settings: TransactionSettings,
  ): Promise<void> {
    await super.beginTransaction(connection, settings);
    await connection.executeQuery(CompiledQuery.raw("select pg_advisory_xact_lock($1)", [STATE_WRITE_LOCK]));
  }
}

class LockingPostgresDialect implements Dialect {
  constructor(private readonly config: PostgresDialectConfig) {}
  createDriver = () => new LockingPostgresDriver(this.config);
  createQueryCompiler = () => new PostgresQueryCompiler();
  createAdapter = () => new PostgresAdapter();
  createIntrospector = (db: Kysely<unknown>) => new PostgresIntrospector(db);
}

/** Opens the pool and (unless `readonly`) brings the schema up to this dbward's; refuses a newer store. */
export async function openPostgresStore(o: PostgresStoreOptions): Promise<Store> {
  const driver = await loadPg();
  const pool = new driver.Pool({
    connectionString: o.url,
    ...(o.password === undefined ? {} : { password: o.password }),
    max: o.poolSize,
    application_name: "dbward-bot",
    connectionTimeoutMillis: 10_000,
    // Keepalives both ways, so a peer that vanished is noticed in seconds (the server then
    // releases the write lock its session held), and a bound on a transaction left idle.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    options: [
      `-c idle_in_transaction_session_timeout=${o.idleInTransactionMs ?? 60_000}`,
      "-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3",
      ...(o.readonly === true ? ["-c default_transaction_read_only=on"] : []),
    ].join(" "),
    // Counts, sums and BIGINT columns come back as int8; every one of them is far below 2^53.
    types: {
      getTypeParser: (oid: number, format?: "text" | "binary") => intAsNumber(driver, oid, format),
    },
  });
  pool.on("error", o.onIdleError);
  // A connection the server ends while it is checked out (idle-in-transaction timeout, a restart,
  // a failover, pg_terminate_backend) emits 'error' on the client, where the pool does not listen:
  // unheard, it would crash the process. Its query fails and the change with it; the pool drops it.
  pool.on("connect", (client) => client.on("error", o.onIdleError));
  // A read-only reader (an auditor's verify) takes no write lock: it cannot write, and holding the
  // lock through a long verification would stall every bot instance's changes.
  const dialect = o.readonly === true ? new PostgresDialect({ pool }) : new LockingPostgresDialect({ pool });
  const store = new Kysely<Database>({ dialect });
  if (o.readonly === true) return store;
  try {
    await applyPostgresSchema(store);
  } catch (err) {
    await store.destroy();
    throw err;
  }
  return store;
}

function intAsNumber(driver: typeof pg, oid: number, format: "text" | "binary" = "text") {
  if (oid === INT8_OID && format === "text") return (v: string) => Number(v);
  return driver.types.getTypeParser(oid, format);
}

/**
 * Applies the derived schema in one transaction under the write lock, so two instances starting
 * at once migrate one after the other and the second finds nothing to do.
 */
async function applyPostgresSchema(store: Store): Promise<void> {
  const ddl = postgresSchema(readFileSync(schemaPath(), "utf8"));
  await store.transaction().execute(async (tx) => {
    const existing = await tx.executeQuery<{ present: boolean }>(
      CompiledQuery.raw("select to_regclass('schema_version') is not null as present"),
    );
    if (existing.rows[0]?.present === true) {
      const row = await tx.executeQuery<{ v: number | null }>(
        CompiledQuery.raw("select max(version) as v from schema_version"),
      );
      const version = row.rows[0]?.v ?? 0;
      if (version > SCHEMA_VERSION)
        throw new Error(
          `the state store is at schema version ${version}, newer than this dbward (${SCHEMA_VERSION}); upgrade dbward`,
        );
    }
    for (const c of ADDED_COLUMNS) {
      const column = postgresSchema(`${c.column} ${c.definition}`);
      await tx.executeQuery(
        CompiledQuery.raw(
          `do $$ begin if to_regclass('${c.table}') is not null then alter table ${c.table} add column if not exists ${column}; end if; end $$`,
        ),
      );
    }
    await widenPostgresChecks(tx);
    await tx.executeQuery(CompiledQuery.raw(ddl));
  });
}
