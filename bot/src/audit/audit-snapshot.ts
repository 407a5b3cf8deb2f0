/**
 * One consistent read of the audit chain for verification: the retained anchor, the stored
 * checkpoints and keys, and every event, all from the same snapshot, so a purge or an append that
 * commits meanwhile cannot make a whole chain look broken (or a broken one look whole).
 *
 * On a SQLite file the snapshot is a read transaction on a read-only connection of its own: in WAL
 * mode it does not block the bot's writers, and it is not held up behind them either. Its events
 * are read a page at a time with one prepared statement, each row as an array of its columns
 * (better-sqlite3 `raw()`): at several hundred thousand events a second, building a row object per
 * event, preparing a statement per page (as Kysely does) or stepping row by row (`iterate()`) is a
 * large part of the whole. On PostgreSQL the snapshot is a REPEATABLE READ, READ ONLY transaction
 * that takes no write lock. Inside a transaction the caller already holds, and on a SQLite store
 * that is not a file, the events are read through the caller's own handle, a page at a time.
 */
import SqliteDatabase from "better-sqlite3";
import { Kysely, PostgresAdapter, SqliteAdapter, SqliteDialect, sql } from "kysely";
import type { Database } from "../store/tables.ts";
import { AUDIT_COLUMNS, parseAuditRowObject, parseAuditRowValues, type AuditRow } from "./audit-rows.ts";

export interface AuditSnapshot {
  /** Queries for the anchor, checkpoints and keys, answered from the same snapshot as `events`. */
  readonly db: Kysely<Database>;
  /** The events after `afterSeq`, in sequence order, in batches of `batchSize`. */
  events(afterSeq: number, batchSize: number): AsyncIterable<readonly AuditRow[]>;
}

/** Runs `work` on one snapshot of `db`'s audit chain, released afterwards whatever happens. */
export async function withAuditSnapshot<T>(
  db: Kysely<Database>,
  work: (snapshot: AuditSnapshot) => Promise<T>,
): Promise<T> {
  if (!db.isTransaction && db.getExecutor().adapter instanceof PostgresAdapter)
    return db.connection().execute((connection) => inPostgresSnapshot(connection, work));
  const file = await sqliteFile(db);
  if (file === undefined) return work(kyselySnapshot(db));
  const connection = new SqliteDatabase(file, { readonly: true, fileMustExist: true });
  connection.pragma("busy_timeout = 5000");
  const reader = new Kysely<Database>({ dialect: new SqliteDialect({ database: connection }) });
  try {
    // A deferred BEGIN on a read-only connection: a read transaction, one snapshot until COMMIT.
    return await reader.transaction().execute((tx) => work(sqliteSnapshot(tx, connection)));
  } finally {
    await reader.destroy();
  }
}

/**
 * A REPEATABLE READ, READ ONLY transaction begun on one pooled connection by hand rather than
 * through Kysely's `transaction()`: the bot's own handle takes the state's write lock at every
 * transaction it begins (open-postgres-store.ts), and a verification must not stall every
 * instance's changes for its length.
 */
async function inPostgresSnapshot<T>(
  connection: Kysely<Database>,
  work: (snapshot: AuditSnapshot) => Promise<T>,
): Promise<T> {
  await sql`begin isolation level repeatable read read only`.execute(connection);
  let result: T;
  try {
    result = await work(kyselySnapshot(connection));
  } catch (err) {
    // The verification's own error is the one to report; a connection that cannot even roll
    // back is broken, and the pool discards it when its query fails.
    await sql`rollback`.execute(connection).catch(() => undefined);
    throw err;
  }
  await sql`commit`.execute(connection);
  return result;
}

/** The file behind a SQLite store, when it is one and `db` is not inside a transaction. */
async function sqliteFile(db: Kysely<Database>): Promise<string | undefined> {
  if (db.isTransaction || !(db.getExecutor().adapter instanceof SqliteAdapter)) return undefined;
  const { rows } = await sql<{
    file: unknown;
  }>`select file from pragma_database_list where name = 'main'`.execute(db);
  const file = rows[0]?.file;
  // An in-memory or temporary database has no file another connection could open.
  return typeof file === "string" && file !== "" ? file : undefined;
}

function sqliteSnapshot(tx: Kysely<Database>, connection: SqliteDatabase.Database): AuditSnapshot {
  return {
    db: tx,
    async *events(afterSeq, batchSize) {
      const page = connection
        .prepare(`SELECT ${AUDIT_COLUMNS} FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?`)
        .raw(true);
      for (let after = afterSeq; ;) {
        const rows: unknown[] = page.all(after, batchSize);
        const last: unknown = rows.at(-1);
        if (last === undefined) return;
        yield rows.map(parseAuditRowValues);
        // The primary key, an integer in SQLite whatever was written (parseAuditRowValues checks
        // the rest): where the next page starts.
        after = Array.isArray(last) && typeof last[0] === "number" ? last[0] : Number.NaN;
      }
    },
  };
}

function kyselySnapshot(db: Kysely<Database>): AuditSnapshot {
  return {
    db,
    async *events(afterSeq, batchSize) {
      for (let after = afterSeq; ;) {
        const page = await db
          .selectFrom("audit_events")
          .selectAll()
          .where("seq", ">", after)
          .orderBy("seq")
          .limit(batchSize)
          .execute();
        const last = page.at(-1);
        if (last === undefined) return;
        yield page.map(parseAuditRowObject);
        after = last.seq;
      }
    },
  };
}
